"""Evaluation metrics, exactly as defined in ``eval/FORMAT.md``.

Every figure is computed from result records alone (one per question, the lines of
``results.jsonl``), so anyone can recompute a report from the results file.  A metric that does
not apply to a slice is ``None`` (JSON ``null``), never 0.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.evaluation.questions import Question
from assistant.evaluation.records import EvalRecord, RetrievedChunk
from assistant.grounding.citations import MARKER
from assistant.pipeline.reading import without_quotations
from vectorstore.language import detect_language

# the rates of a slice, in the order every report shows them (JSON names, as in eval/FORMAT.md)
RATES = ("hit@1", "hit@k", "mrr", "source_recall", "answer_accuracy", "answers_right",
         "citation_precision", "citation_recall", "abstention_unanswerable", "wrong_abstention",
         "not_sure", "answer_language_ok")
TIMINGS = {"retrieval": "retrieval_ms", "first_token": "first_token_ms", "total": "total_ms"}

QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})

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
    """NFKC, straight quotes, collapsed whitespace, lower case."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTES)
    return " ".join(text.split()).lower()


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
    if len(text.split()) < 4:
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


def _mean(values: Iterable[float]) -> float | None:
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
        hit_at_1=_mean(1.0 if r == 1 else 0.0 for r in ranks),
        hit_at_k=_mean(0.0 if r is None else 1.0 for r in ranks),
        mrr=_mean(0.0 if r is None else 1 / r for r in ranks),
        source_recall=_mean(source_recall(r, k) for r in with_sources),
        answer_accuracy=_mean(float(is_right(r)) for r in with_must),
        answers_right=_mean(float(r.asked.answerable and is_right(r)) for r in records
                            if not (r.abstained or r.unsure or r.error)
                            and (r.asked.must_include or not r.asked.answerable)),
        citation_precision=round(valid / total, 4) if total else None,
        citation_recall=_mean(float(cites_expected(r)) for r in with_sources),
        abstention_unanswerable=_mean(float(r.abstained or r.unsure) for r in unanswerable),
        wrong_abstention=_mean(float(r.abstained) for r in answerable),
        not_sure=_mean(float(r.unsure) for r in records),
        answer_language_ok=_mean(
            float(answer_language(r) == r.asked.language) for r in ok if r.answer
        ),
        errors=sum(1 for r in records if r.error),
        latency_ms={name: Latency(percentile(values, 50), percentile(values, 95))
                    for name, values in timings.items()},
    )


CURVE_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def answer_support(record: EvalRecord) -> float:
    """How well the best-supported claim of an answer is backed (0 for abstentions)."""
    if record.abstained or record.error:
        return 0.0
    return max((c.support for c in record.citations), default=0.0)


# --- the error budget ----------------------------------------------------------------------
# For every question, the stage of the pipeline that decided its outcome: accuracy says how many
# answers are right, the budget where the others were lost, so a change can name the line it
# moved. The stages, in the pipeline's order (`stage_of`):
#
# - `right` / `abstained, unanswerable` / `not sure, unanswerable`: nothing lost;
# - `not sure, the withheld answer was right` (or `wrong`): what saying "not sure" cost (saved);
# - `not retrieved`: no passage holding the evidence among the top k, and the answer is not right;
# - `gate: <reason>`: abstained before the model read anything (`key_terms`, `no_sources`);
# - `model declined`: the model said the passages do not answer;
# - `model wrong`: what the model wrote, in its own words or translated, lacks what a right
#   answer needs, with the evidence among the passages it was given;
# - `verification removed a right answer`: the model's answer was right, and the checks after it
#   abstained (`unsupported`, `no_number`) or cut the part that made it right;
# - `quote step replaced a right answer`: the model's verified answer was right, the quoted
#   source sentences that stand in its place are not;
# - `answered an unanswerable question`;
# - `error`; `not judged` (an answerable question without `must_include`).
#
# "Right" is `answer_accuracy`'s rule (every `must_include` group present). Beside the stages,
# `quote step made a wrong answer right` counts what the quote step gained, so its gain and its
# cost are read together. Records written before drafts were kept have no draft: their model and
# verification stages read `model wrong or checks (no draft recorded)`.

GATE_REASONS = ("key_terms", "no_sources")
STAGES = ("right", "abstained, unanswerable", "not sure, unanswerable",
          "not sure, the withheld answer was right", "not sure, the withheld answer was wrong",
          "not retrieved", "gate: key_terms",
          "gate: no_sources", "model declined", "model wrong",
          "verification removed a right answer", "quote step replaced a right answer",
          "model wrong or checks (no draft recorded)", "answered an unanswerable question",
          "error", "not judged")
QUOTE_GAIN = "quote step made a wrong answer right"


def _right(text: str | None, record: EvalRecord) -> bool:
    return bool(text) and satisfies_must_include(MARKER.sub(" ", text or ""),
                                                 record.asked.must_include)


def stage_of(record: EvalRecord, k: int) -> str:
    """The stage that decided this question's outcome (see "the error budget" above)."""
    asked = record.asked
    if record.error:
        return "error"
    if not asked.answerable:
        return "abstained, unanswerable" if record.abstained else \
            "not sure, unanswerable" if record.unsure else "answered an unanswerable question"
    if not asked.must_include:
        return "not judged"
    if record.unsure:  # what "not sure" cost or saved: the answer it stood in for
        return "not sure, the withheld answer was " + (
            "right" if _right(record.withheld, record) else "wrong")
    if is_right(record):
        return "right"
    if asked.evidence and hit_rank(record, k) is None:
        return "not retrieved"
    if record.abstained and record.abstain_reason in GATE_REASONS:
        return f"gate: {record.abstain_reason}"
    if record.abstained and record.abstain_reason == "model":
        return "model declined"
    if record.draft is None:
        return "model wrong or checks (no draft recorded)"
    if not (_right(record.draft, record) or _right(record.model_answer, record)):
        return "model wrong"
    if record.abstained or not _right(record.model_answer, record):
        return "verification removed a right answer"
    return "quote step replaced a right answer"


def quote_gained(record: EvalRecord) -> bool:
    """The quoted sentences are right where the model's own verified answer was not."""
    return (record.asked.answerable and bool(record.asked.must_include)
            and not (record.abstained or record.unsure) and record.model_answer is not None
            and record.model_answer != record.answer and _right(record.answer, record)
            and not _right(record.model_answer, record))


def error_budget(records: Sequence[EvalRecord], k: int) -> dict[str, int]:
    """Questions per stage (only the stages that occur, in the pipeline's order), then the
    quote step's gains."""
    counts = Counter(stage_of(r, k) for r in records)
    budget = {stage: counts[stage] for stage in STAGES if counts[stage]}
    if any(r.model_answer is not None for r in records):
        budget[QUOTE_GAIN] = sum(quote_gained(r) for r in records)
    return budget


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    abstention_unanswerable: float | None
    wrong_abstention: float | None


def abstention_curve(records: Sequence[EvalRecord]) -> list[CurvePoint]:
    """The trade-off an answer-level support threshold would make: for each threshold, abstaining
    on every answer whose best citation is backed below it, the share of unanswerable questions
    abstained on against the share of answerable ones wrongly abstained on."""
    answerable = [r for r in records if r.asked.answerable]
    unanswerable = [r for r in records if not r.asked.answerable]
    return [CurvePoint(t, _mean(float(answer_support(r) < t) for r in unanswerable),
                       _mean(float(answer_support(r) < t) for r in answerable))
            for t in CURVE_THRESHOLDS]


@dataclass
class Report:
    """report.json: overall, per dev-set half, category and question language, the abstention
    trade-off per half, the run's configuration; the judge's section when one scored the run."""

    overall: Metrics
    by_split: dict[str, Metrics]
    by_category: dict[str, Metrics]
    by_language: dict[str, Metrics]
    abstention_curve: dict[str, list[CurvePoint]]
    config: dict[str, Any]  # what produced it, as written by `evaluation.run.config_of`
    judge: dict[str, Any] | None = None  # `evaluation.judge.judge_report`
    # questions per stage that decided them, overall and per half (`error_budget`)
    budget: dict[str, dict[str, int]] = field(default_factory=dict)

    SLICES = ("by_split", "by_category", "by_language")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"overall": self.overall.to_dict()}
        for key in self.SLICES:
            data[key] = {name: m.to_dict() for name, m in getattr(self, key).items()}
        data["abstention_curve"] = {half: [asdict(p) for p in points]
                                    for half, points in self.abstention_curve.items()}
        data["error_budget"] = self.budget
        data["config"] = self.config
        data["definitions"] = DEFINITIONS
        if self.judge is not None:
            data["judge"] = self.judge
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        slices = {key: {name: Metrics.from_dict(m) for name, m in (data.get(key) or {}).items()}
                  for key in cls.SLICES}
        curve = {half: [CurvePoint(**p) for p in points]
                 for half, points in (data.get("abstention_curve") or {}).items()}
        return cls(overall=Metrics.from_dict(data["overall"]), abstention_curve=curve,
                   config=data.get("config", {}), judge=data.get("judge"),
                   budget=data.get("error_budget") or {}, **slices)


def build_report(records: Sequence[EvalRecord], k: int, config: dict[str, Any]) -> Report:
    """The report of a run: overall, per half, category and question language, and its config."""

    def sliced(key: Callable[[Question], str]) -> dict[str, Metrics]:
        groups: dict[str, list[EvalRecord]] = {}
        for record in records:
            groups.setdefault(key(record.asked), []).append(record)
        return {name: compute_metrics(group, k) for name, group in sorted(groups.items())}

    return Report(
        overall=compute_metrics(records, k),
        by_split=sliced(lambda q: q.split),
        by_category=sliced(lambda q: q.category),
        by_language=sliced(lambda q: q.language),
        abstention_curve={name: abstention_curve([r for r in records if r.asked.split == name])
                          for name in ("tune", "check")},
        config=config,
        budget={"overall": error_budget(records, k), **{
            name: error_budget([r for r in records if r.asked.split == name], k)
            for name in ("tune", "check")}},
    )
