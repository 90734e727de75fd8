"""`Answer` and `Citation`: the one shape an answer has in the CLI, the UI and the evaluation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from vectorstore.documents import SECTION_SEPARATOR, ScoredChunk


class AbstainReason(StrEnum):
    """Why an answer is "the documents don't say" (decided in `assistant.grounding.abstention`).
    The values are what `ask --json`, the eval's results.jsonl and the request log show."""

    NO_SOURCES = "no_sources"  # nothing was retrieved
    KEY_TERMS = "key_terms"  # a name or number of the question is in no retrieved passage
    MODEL = "model"  # the model said the sources do not answer
    UNSUPPORTED = "unsupported"  # no claim of the answer kept a verified citation
    NO_NUMBER = "no_number"  # asked how many / how much / when, and no cited claim has a number


@dataclass(frozen=True)
class Quote:
    """One answer sentence's evidence: the source sentence its `[n]` marker stands for there, so a
    reader who follows the marker of that sentence sees that sentence's evidence highlighted."""

    claim: str  # the answer's sentence, markers removed
    text: str
    start: int  # offsets in the source document's text, like `Citation.start`
    end: int
    page: str | None = None


@dataclass(frozen=True)
class Citation:
    """A verified `[n]` marker: which chunk, and the exact passage that supports the claim.

    `start`/`end` are character offsets of `quote` in the source document's text (not the
    chunk's), so a viewer can highlight it in the whole document; `section` (its path of
    headings) and `page` (a PDF's page label) say where a reader finds it.
    """

    n: int
    source_id: str
    title: str
    chunk_id: str
    quote: str
    start: int
    end: int
    support: float  # similarity of the claim to the quoted passage, 0..1
    section: str | None = None
    page: str | None = None
    # every answer sentence that cites this source, each with its own quote, in answer order
    quotes: tuple[Quote, ...] = ()

    @property
    def location(self) -> str:
        """"lshort-nl.pdf, p. 23, §2.4 Speciale karakters": the source as a reader cites it."""
        parts = [self.source_id]
        if self.page:
            parts.append(f"p. {self.page}")
        if self.section:
            parts.append(f"§{self.section.split(SECTION_SEPARATOR)[-1]}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """As in every JSON Kenbron writes, the document is `source`."""
        data = asdict(self)
        data["source"] = data.pop("source_id")
        data["location"] = self.location
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        return cls(n=data["n"], source_id=data["source"], title=data.get("title", ""),
                   chunk_id=data["chunk_id"], quote=data.get("quote", ""),
                   start=data.get("start", 0), end=data.get("end", 0),
                   support=data.get("support", 0.0), section=data.get("section"),
                   page=data.get("page"),
                   quotes=tuple(Quote(**q) for q in data.get("quotes", ())))


@dataclass(frozen=True)
class CitationChange:
    """A marker the verifier removed, or put where the model cited a wrong source or none."""

    n: int
    sentence: str
    reason: str
    support: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """`support` only when there was one (a marker naming no given source has none)."""
        return {k: v for k, v in asdict(self).items() if v is not None or k != "support"}


@dataclass
class Timings:
    """When each stage of answering ended, in milliseconds since the question arrived; None for
    a stage the answer did not go through (only those reached are written to JSON)."""

    retrieval_ms: float | None = None
    first_token_ms: float | None = None  # the draft's first piece (or the abstention)
    # total_ms: the answer is decided; the app shows it then (a draft is only progress)
    translated_ms: float | None = None  # the answer was translated into the asker's language
    quoted_ms: float | None = None  # the quote step replaced the model's words
    total_ms: float | None = None

    def to_dict(self) -> dict[str, float]:
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, float | None]) -> Timings:
        names = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in names})


@dataclass(frozen=True)
class Signals:
    """What the pipeline knows about a verified answer's chance of being right, each from a
    step it runs anyway; `assistant.grounding.abstention.confidence` weighs them into one
    number."""

    support: float  # the weakest citation's support: how well its source backs its claim
    best_cited: bool  # the answer cites the best-ranked passage, the one most about the question
    evidence: float  # the best source sentence's score for the question (`rank_sentences`)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Signals | None:
        return cls(**data) if data else None


@dataclass
class Answer:
    question: str
    text: str
    language: str
    abstained: bool = False
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[ScoredChunk] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    backend: str = ""
    model: str = ""
    standalone_question: str = ""
    # what the verifier changed, for transparency and evaluation
    removed_citations: list[CitationChange] = field(default_factory=list)
    added_citations: list[CitationChange] = field(default_factory=list)
    error: str | None = None
    # why an abstention happened (`assistant.grounding.abstention` decides); None when the
    # answer is not an abstention
    abstain_reason: AbstainReason | None = None
    # the answering model was asked (False for gate abstentions, the extractive backend, errors
    # before generation): what latency figures of the model should count
    model_called: bool = False
    # the backend's text as written (markers included), and its own answer once translated and
    # verified, before the quote step put source sentences in its place: with `text`, which
    # step made an answer right or wrong (`assistant.evaluation.budget`); None where not reached
    draft: str | None = None
    model_answer: str | None = None
    # the answer passed the checks but disagrees with the evidence (`abstention.unsure`): its
    # text says "not sure" and points at the best passage, cited; `withheld` is the answer it
    # stands in for
    unsure: bool = False
    withheld: str | None = None
    # for a verified answer of a model: what its confidence is weighed from, and the confidence
    # (0..1, `abstention.confidence`); below `abstention.NOT_SURE_BELOW` it is "not sure"
    signals: Signals | None = None
    confidence: float | None = None

    @property
    def context_chunk_ids(self) -> list[str]:
        """The chunks that were given to the model, numbered [1].. in this order."""
        return [hit.chunk.chunk_id for hit in self.retrieved]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "language": self.language,
            "abstained": self.abstained,
            "unsure": self.unsure,
            "citations": [c.to_dict() for c in self.citations],
            "removed_citations": [c.to_dict() for c in self.removed_citations],
            "added_citations": [c.to_dict() for c in self.added_citations],
            "retrieved": [hit.to_dict() for hit in self.retrieved],
            "context_chunk_ids": self.context_chunk_ids,
            "timings": self.timings.to_dict(),
            "backend": self.backend,
            "model": self.model,
            "error": self.error,
            "abstain_reason": self.abstain_reason,
            "model_called": self.model_called,
            "draft": self.draft,
            "model_answer": self.model_answer,
            "withheld": self.withheld,
            "signals": self.signals.to_dict() if self.signals else None,
            "confidence": self.confidence,
        }

