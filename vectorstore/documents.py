"""The data shapes that cross the ingestion and retrieval boundaries.

A `SourceDocument` is what a loader makes of one file; a `Chunk` is a span of it that is embedded,
indexed and cited. Chunks keep their character offsets into the document's text so that a citation
can point at (and the UI highlight) the exact passage, and their place in the document's structure
(section path, pages) so that a citation can say where the passage is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class Heading:
    """A heading of the document: where its section starts in the text, and its depth (0 for a
    document's title heading, 1 for the top sections)."""

    start: int
    level: int
    title: str


@dataclass(frozen=True)
class PageStart:
    """Where a printed page starts in the document's text, with the page's label ("23", "iv")."""

    start: int
    label: str


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
    headings: tuple[Heading, ...] = ()
    pages: tuple[PageStart, ...] = ()

    def section_at(self, offset: int) -> str | None:
        """The section path at a character offset ("2 Typesetting › 2.4 Special characters")."""
        path: list[Heading] = []
        for heading in self.headings:
            if heading.start > offset:
                break
            while path and path[-1].level >= heading.level:
                path.pop()
            path.append(heading)
        return SECTION_SEPARATOR.join(h.title for h in path) or None

    def pages_in(self, start: int, end: int) -> tuple[PageStart, ...]:
        """The pages a span touches, the first one with `start` as its offset."""
        touched: list[PageStart] = []
        for page in self.pages:
            if page.start <= start:
                touched = [PageStart(start, page.label)]
            elif page.start < end:
                touched.append(page)
            else:
                break
        return tuple(touched)


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
    section: str | None = None
    # the pages the chunk touches, the first one starting at `start` (document offsets)
    pages: tuple[PageStart, ...] = ()

    def page_at(self, offset: int) -> str | None:
        """The label of the page a document offset inside this chunk lies on."""
        label = None
        for page in self.pages:
            if page.start > offset:
                break
            label = page.label
        return label

    @property
    def location(self) -> str:
        """Where the chunk is, as a reader would cite it: "p. 23–24 · §2.4 Special characters"."""
        labels = [p.label for p in self.pages]
        parts = []
        if labels:
            parts.append(f"p. {labels[0]}" + (f"–{labels[-1]}" if len(labels) > 1 else ""))
        if self.section:
            parts.append(self.section)
        return " · ".join(parts)

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for Chroma (which accepts only scalar values and no None)."""
        meta = {k: v for k, v in asdict(self).items() if k not in ("text", "chunk_id", "pages")}
        if self.pages:
            meta["pages"] = ";".join(f"{p.start}:{p.label}" for p in self.pages)
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
            section=meta.get("section"),
            pages=_parse_pages(meta.get("pages")),
        )


def _parse_pages(value: object) -> tuple[PageStart, ...]:
    if not value:
        return ()
    pages = []
    for item in str(value).split(";"):
        start, _, label = item.partition(":")
        pages.append(PageStart(int(start), label))
    return tuple(pages)


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
            "section": c.section,
            "page": c.page_at(c.start),
            "start": c.start,
            "end": c.end,
            "ranks": self.ranks,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
        }
