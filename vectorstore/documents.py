"""The data shapes that cross the ingestion and retrieval boundaries.

A `SourceDocument` is what a loader makes of one file; a `Chunk` is a span of it that is embedded,
indexed and cited. Chunks keep their character offsets into the document's text so that a citation
can point at (and the UI highlight) the exact passage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceDocument:
    source_id: str
    title: str
    text: str
    language: str
    doc_hash: str
    format: str
    date: str | None = None
    description: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    source_id: str
    title: str
    text: str
    start: int
    end: int
    position: int
    language: str
    doc_hash: str
    date: str | None = None

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for Chroma (which accepts only scalar values and no None)."""
        meta = {k: v for k, v in asdict(self).items() if k not in ("text", "chunk_id")}
        return {k: v for k, v in meta.items() if v is not None}

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=chunk_id,
            source_id=str(meta["source_id"]),
            title=str(meta.get("title", meta["source_id"])),
            text=text,
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", len(text))),
            position=int(meta.get("position", 0)),
            language=str(meta.get("language", "")),
            doc_hash=str(meta.get("doc_hash", "")),
            date=meta.get("date"),
        )


@dataclass
class ScoredChunk:
    """A retrieved chunk with its fused rank and the ranks each retriever gave it."""

    chunk: Chunk
    score: float
    rank: int = 0
    ranks: dict[str, int] = field(default_factory=dict)
    # each retriever's own score (cosine similarity, BM25): evidence for abstention decisions
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "rank": self.rank,
            "source": c.source_id,
            "title": c.title,
            "chunk_id": c.chunk_id,
            "text": c.text,
            "score": round(self.score, 6),
            "language": c.language,
            "date": c.date,
            "start": c.start,
            "end": c.end,
            "ranks": self.ranks,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
        }
