"""`Answer` and `Citation`: the one shape an answer has in the CLI, the UI and the evaluation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vectorstore.documents import SECTION_SEPARATOR, ScoredChunk


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
class Answer:
    question: str
    text: str
    language: str
    abstained: bool = False
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[ScoredChunk] = field(default_factory=list)
    timings: dict[str, float | None] = field(default_factory=dict)
    backend: str = ""
    model: str = ""
    standalone_question: str = ""
    # what the verifier changed, for transparency and evaluation
    removed_citations: list[CitationChange] = field(default_factory=list)
    added_citations: list[CitationChange] = field(default_factory=list)
    error: str | None = None
    # why an abstention happened: "no_sources", "key_terms" (the gate, before any model),
    # "model" (the model said the sources do not answer), "unsupported" (no claim verified);
    # None when the answer was not an abstention
    abstain_reason: str | None = None
    # the answering model was asked (False for gate abstentions, the extractive backend, errors
    # before generation): what latency figures of the model should count
    model_called: bool = False

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
            "citations": [c.to_dict() for c in self.citations],
            "removed_citations": [c.to_dict() for c in self.removed_citations],
            "added_citations": [c.to_dict() for c in self.added_citations],
            "retrieved": [hit.to_dict() for hit in self.retrieved],
            "context_chunk_ids": self.context_chunk_ids,
            "timings": self.timings,
            "backend": self.backend,
            "model": self.model,
            "error": self.error,
            "abstain_reason": self.abstain_reason,
            "model_called": self.model_called,
        }

