"""Evaluation metrics, exactly as defined in ``eval/FORMAT.md``.

Every figure is computed from result records alone (one per question, the lines of
``results.jsonl``), so anyone can recompute a report from the results file.  A metric that does
not apply to a slice is ``None`` (JSON ``null``), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from assistant.evaluation.records import EvalRecord, RetrievedChunk
from assistant.grounding.citations import MARKER
from assistant.pipeline.reading import without_quotations
from vectorstore.language import detect_language
from vectorstore.text import normalise as text_normalise
from vectorstore.text import says_something

# the rates of a slice, in the order every report shows them (JSON names, as in eval/FORMAT.md)
RATES = ("hit@1", "hit@k", "mrr", "source_recall", "answer_accuracy", "answers_right",
         "citation_precision", "citation_recall", "abstention_unanswerable", "wrong_abstention",
         "not_sure", "answer_language_ok")
TIMINGS = {"retrieval": "retrieval_ms", "first_token": "first_token_ms", "total": "total_ms"}


DEFINITIONS = {
    "hit@1": "answerable questions with evidence: share whose top-ranked chunk contains an "
    "evidence string (after normalisation)",
    "hit@k": "answerable questions with evidence: share with an evidence-bearing chunk among the "
    "top k retrieved",
    "mrr": "answerable questions with evidence: mean of 1/rank of the first evidence-bearing "
    "chunk within the top k (0 when none)",
    "source_recall": "answerable questions with sources: mean share of the expected sources that "
    "appear among the top k chunks' sources",
    "answer_accuracy": "answerable questions with must_include: share whose answer contains at "
    "least one alternative of every must_include group (after normalisation); a \"not sure\" "
    "is no answer",
    "answers_right": "answers given (not abstained, not \"not sure\", no error) to answerable "
    "questions with must_include and to unanswerable ones: share that are right (an answer to "
    "an unanswerable question is wrong)",
    "citation_precision": "all citation markers in all answers: share that point to a chunk "
    "given to the model whose source is in the question's sources",
    "citation_recall": "answerable questions with sources: share whose answer cites at least one "
    "of the expected sources",
    "abstention_unanswerable": "unanswerable questions: share where the assistant abstained "
    "or said it is not sure",
    "wrong_abstention": "answerable questions: share where the assistant abstained (\"not "
    "sure\" apart)",
    "not_sure": "all questions: share answered \"not sure\" with a pointer to the best "
    "passage instead of an answer",
    "answer_language_ok": "questions answered without error: share whose answer is in the "
    "question's language (detected offline; answers under 4 words trust the reported language)",
    "errors": "questions whose answering failed with an error (counted as not correct)",
    "error_budget": "per question, the stage that decided its outcome: right; not retrieved; "
    "the evidence gate; the model declined or wrote a wrong answer with the evidence before it; "
    "verification removed, or the quote step replaced, a right answer; an unanswerable question "
    "answered (and, apart, the wrong answers the quote step made right)",
    "latency_ms": "per question: retrieval time, time to first answer token, total time; p50 and "
    "p95 over the questions of the slice",
}


def normalise(text: str) -> str:
    """Text as answers and evidence are matched: NFKC, lower case, straight quotes, collapsed
    whitespace."""
    return text_normalise(text, straight_quotes=True)


def _top(record: EvalRecord, k: int) -> list[RetrievedChunk]:
    return record.retrieved[:k]


def hit_rank(record: EvalRecord, k: int) -> int | None:
    """1-based rank of the first retrieved chunk containing an evidence string, within k."""
    evidence = [normalise(e) for e in record.asked.evidence if e.strip()]
    for rank, chunk in enumerate(_top(record, k), start=1):
        text = normalise(chunk.text)
        if any(e in text for e in evidence):
            return rank
    return None


def source_recall(record: EvalRecord, k: int) -> float:
    expected = set(record.asked.sources)
    found = {chunk.source_id for chunk in _top(record, k)}
    return len(expected & found) / len(expected)


def satisfies_must_include(answer: str, groups: Sequence[Sequence[str]]) -> bool:
    text = normalise(answer)
    return all(any(normalise(alt) in text for alt in group) for group in groups)


def is_right(record: EvalRecord) -> bool:
    """An answer, not an error or a "not sure", that holds every `must_include` group."""
    return not (record.error or record.unsure or record.abstained) and satisfies_must_include(
        record.answer or "", record.asked.must_include)


def citation_counts(record: EvalRecord) -> tuple[int, int]:
    """(valid markers, all markers) of one answer."""
    given = set(record.context_chunk_ids)
    sources = set(record.asked.sources)
    valid = sum(1 for c in record.citations if c.chunk_id in given and c.source_id in sources)
    return valid, len(record.citations)


def answer_language(record: EvalRecord) -> str | None:
    """The language the answer is written in; its quotations of sources are the sources'."""
    text = MARKER.sub(" ", without_quotations(record.answer or ""))
    if not says_something(text):  # too short to have a language of its own
        return record.language
    return detect_language(text)


def timings_of(records: Sequence[EvalRecord], key: str) -> list[float]:
    """One timing (ms) of every record that has it: the metrics' and the charts' latency data."""
    return [value for r in records if (value := getattr(r.timings, key)) is not None]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def mean_of(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else None


@dataclass(frozen=True)
class Latency:
    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class Metrics:
    """The figures of one slice of a question set: a block of report.json (`to_dict`)."""

    questions: int
    k: int
    hit_at_1: float | None
    hit_at_k: float | None
    mrr: float | None
    source_recall: float | None
    answer_accuracy: float | None
    answers_right: float | None
    citation_precision: float | None
    citation_recall: float | None
    abstention_unanswerable: float | None
    wrong_abstention: float | None
    not_sure: float | None
    answer_language_ok: float | None
    errors: int
    latency_ms: dict[str, Latency]  # by stage, the keys of TIMINGS

    def rate(self, name: str) -> float | None:
        """A rate by its report name (`RATES`)."""
        return getattr(self, _attribute(name))

    def to_dict(self) -> dict[str, Any]:
        return {"questions": self.questions, "k": self.k,
                **{name: self.rate(name) for name in RATES}, "errors": self.errors,
                "latency_ms": {stage: asdict(v) for stage, v in self.latency_ms.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metrics:
        return cls(questions=data["questions"], k=data["k"], errors=data.get("errors", 0),
                   latency_ms={stage: Latency(v.get("p50"), v.get("p95"))
                               for stage, v in data.get("latency_ms", {}).items()},
                   **{_attribute(name): data.get(name) for name in RATES})


def _attribute(name: str) -> str:
    return name.replace("@", "_at_")


def compute_metrics(records: Sequence[EvalRecord], k: int) -> Metrics:
    """The metrics of one slice of result records."""
    answerable = [r for r in records if r.asked.answerable]
    with_evidence = [r for r in answerable if r.asked.evidence]
    with_sources = [r for r in answerable if r.asked.sources]
    with_must = [r for r in answerable if r.asked.must_include]
    unanswerable = [r for r in records if not r.asked.answerable]
    ok = [r for r in records if not r.error]
    ranks = [hit_rank(r, k) for r in with_evidence]
    valid = total = 0
    for record in records:
        v, t = citation_counts(record)
        valid, total = valid + v, total + t

    def cites_expected(record: EvalRecord) -> bool:
        return any(c.source_id in record.asked.sources for c in record.citations)

    timings = {name: timings_of(ok, key) for name, key in TIMINGS.items()}
    return Metrics(
        questions=len(records),
        k=k,
        hit_at_1=mean_of(1.0 if r == 1 else 0.0 for r in ranks),
        hit_at_k=mean_of(0.0 if r is None else 1.0 for r in ranks),
        mrr=mean_of(0.0 if r is None else 1 / r for r in ranks),
        source_recall=mean_of(source_recall(r, k) for r in with_sources),
        answer_accuracy=mean_of(float(is_right(r)) for r in with_must),
        answers_right=mean_of(float(r.asked.answerable and is_right(r)) for r in records
                            if not (r.abstained or r.unsure or r.error)
                            and (r.asked.must_include or not r.asked.answerable)),
        citation_precision=round(valid / total, 4) if total else None,
        citation_recall=mean_of(float(cites_expected(r)) for r in with_sources),
        abstention_unanswerable=mean_of(float(r.abstained or r.unsure) for r in unanswerable),
        wrong_abstention=mean_of(float(r.abstained) for r in answerable),
        not_sure=mean_of(float(r.unsure) for r in records),
        answer_language_ok=mean_of(
            float(answer_language(r) == r.asked.language) for r in ok if r.answer
        ),
        errors=sum(1 for r in records if r.error),
        latency_ms={name: Latency(percentile(values, 50), percentile(values, 95))
                    for name, values in timings.items()},
    )


def holds_answer(text: str | None, record: EvalRecord) -> bool:
    """`text` (markers aside) holds every `must_include` group of the record's question."""
    return bool(text) and satisfies_must_include(MARKER.sub(" ", text or ""),
                                                 record.asked.must_include)
