"""`EvalRecord`: one evaluated question — what was asked and expected, and what the assistant did.

Why a type: the metrics, the Markdown report, the judge, the charts and the RAGAS export all
read the same record, and a misspelt dict key silently reads as "missing". On disk a record is
one line of `results.jsonl` (`to_dict` / `from_dict`), so a report can be recomputed from the
file alone; in the file a chunk's document is `source`, as in every JSON Kenbron writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from assistant.answer import Answer, Citation, CitationChange, Signals, Timings
from assistant.evaluation.questions import Question


@dataclass(frozen=True)
class RetrievedChunk:
    """A chunk as the evaluation keeps it: enough to recompute retrieval metrics."""

    rank: int
    source_id: str
    chunk_id: str
    text: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "source": self.source_id, "chunk_id": self.chunk_id,
                "text": self.text, "score": self.score}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrievedChunk:
        return cls(data["rank"], data["source"], data["chunk_id"], data["text"], data.get("score"))


@dataclass(frozen=True)
class EvalRecord:
    """The question as asked (with what a right answer needs) and the assistant's answer."""

    asked: Question
    retrieved: list[RetrievedChunk] = field(default_factory=list)
    context_chunk_ids: list[str] = field(default_factory=list)
    answer: str = ""
    citations: list[Citation] = field(default_factory=list)
    removed_citations: list[CitationChange] = field(default_factory=list)
    added_citations: list[CitationChange] = field(default_factory=list)
    abstained: bool = False
    unsure: bool = False  # `Answer.unsure`
    abstain_reason: str | None = None
    model_called: bool = False
    language: str | None = None
    timings: Timings = field(default_factory=Timings)
    error: str | None = None
    draft: str | None = None  # `Answer.draft`, `Answer.model_answer`: see there
    model_answer: str | None = None
    withheld: str | None = None  # `Answer.withheld`
    signals: Signals | None = None  # `Answer.signals`, `Answer.confidence`
    confidence: float | None = None
    judge: dict[str, Any] | None = None  # set by `assistant.evaluation.judge` when a judge model scored it

    @classmethod
    def of(cls, question: Question, answer: Answer) -> EvalRecord:
        return cls(
            asked=question,
            retrieved=[RetrievedChunk.from_dict(h.to_dict()) for h in answer.retrieved],
            context_chunk_ids=answer.context_chunk_ids, answer=answer.text,
            citations=list(answer.citations), removed_citations=list(answer.removed_citations),
            added_citations=list(answer.added_citations), abstained=answer.abstained,
            unsure=answer.unsure,
            abstain_reason=answer.abstain_reason, model_called=answer.model_called,
            language=answer.language, timings=replace(answer.timings), error=answer.error,
            draft=answer.draft, model_answer=answer.model_answer, withheld=answer.withheld,
            signals=answer.signals, confidence=answer.confidence)

    def to_dict(self) -> dict[str, Any]:
        """One line of results.jsonl: the question's fields, flat, then the outcome's."""
        q = self.asked
        data: dict[str, Any] = {
            "id": q.id, "question": q.question, "question_language": q.language,
            "category": q.category, "split": q.split, "answerable": q.answerable,
            "sources": q.sources, "evidence": q.evidence, "must_include": q.must_include,
            "reference_answer": q.reference_answer}
        data.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "asked"})
        for key in ("retrieved", "citations", "removed_citations", "added_citations"):
            data[key] = [item.to_dict() for item in data[key]]
        data["timings"] = self.timings.to_dict()
        data["signals"] = self.signals.to_dict() if self.signals else None
        if self.judge is None:
            del data["judge"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalRecord:
        """A record from a results.jsonl line; keys written before a field existed default."""
        asked = Question(
            id=data["id"], question=data["question"], language=data["question_language"],
            category=data["category"], answerable=data["answerable"],
            reference_answer=data.get("reference_answer") or "",
            sources=data.get("sources", []), evidence=data.get("evidence", []),
            must_include=data.get("must_include", []))
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["retrieved"] = [RetrievedChunk.from_dict(c) for c in data.get("retrieved", [])]
        values["citations"] = [Citation.from_dict(c) for c in data.get("citations", [])]
        values["timings"] = Timings.from_dict(data.get("timings") or {})
        values["signals"] = Signals.from_dict(data.get("signals"))
        for key in ("removed_citations", "added_citations"):
            values[key] = [CitationChange(**c) for c in data.get(key, [])]
        return cls(asked=asked, **values)
