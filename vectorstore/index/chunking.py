"""Token-aware chunking that respects sentences and paragraphs.

A chunk is a contiguous span `[start, end)` of the document text, so `text[start:end]` is exactly
what was embedded and what a citation quotes. Sentences are never split unless one is longer than
a whole chunk; chunks prefer to end at paragraph breaks; consecutive chunks overlap by whole
sentences so that a fact straddling a boundary is intact in at least one of them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

from vectorstore.defaults import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS
from vectorstore.documents import Chunk, SourceDocument
from vectorstore.tokens import count_tokens

# A sentence ends at . ! ? … 。 (optionally followed by closing quotes/brackets) before whitespace.
_SENTENCE_END = re.compile(r"[.!?…。]+[\"'”’»)\]]*(?=\s)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a line, or a piece of an overlong sentence) with its token count."""

    start: int
    end: int
    tokens: int
    paragraph_start: bool
    section_start: bool = False


def split_units(text: str, max_tokens: int, section_starts: frozenset[int] = frozenset()
                ) -> list[_Unit]:
    """Sentences of `text` as spans; lines count as sentences (lists, headings, datelines)."""
    units: list[_Unit] = []
    for para_start, para_end in _paragraphs(text):
        first = True
        for line_start, line_end in _lines(text, para_start, para_end):
            for s, e in _sentences(text, line_start, line_end):
                for ps, pe, tokens in _fit(text, s, e, max_tokens):
                    units.append(_Unit(ps, pe, tokens, first, first and para_start in section_starts))
                    first = False
    return units


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of `text`, however long: verification, excerpts and the
    sentence index all work on whole sentences."""
    return [(u.start, u.end) for u in split_units(text, max_tokens=10_000)]


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in (_strip(text, s, e) for s, e in spans) if e > s]


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, pos = [], start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl
        spans.append(_strip(text, pos, stop))
        pos = stop + 1
    return [(s, e) for s, e in spans if e > s]


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, pos = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.append(_strip(text, pos, match.end()))
        pos = match.end()
    spans.append(_strip(text, pos, end))
    return [(s, e) for s, e in spans if e > s]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _fit(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """Split a span longer than `max_tokens` at word boundaries; shorter spans pass through."""
    tokens = count_tokens(text[start:end])
    if tokens <= max_tokens:
        return [(start, end, tokens)]
    pieces: list[tuple[int, int, int]] = []
    piece_start, piece_tokens, last_end = start, 0, start
    for word in re.finditer(r"\S+", text[start:end]):
        for w_start, w_end in _word_pieces(text, start + word.start(), start + word.end(),
                                           max_tokens - 1):
            w_tokens = count_tokens(text[w_start:w_end]) + 1
            if piece_tokens and piece_tokens + w_tokens > max_tokens:
                pieces.append((piece_start, last_end, piece_tokens))
                piece_start, piece_tokens = w_start, 0
            piece_tokens += w_tokens
            last_end = w_end
    pieces.append((piece_start, last_end, piece_tokens))
    return pieces


def _word_pieces(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """A "word" longer than the limit (a URL, a run of symbols) split by characters."""
    if count_tokens(text[start:end]) <= max_tokens:
        return [(start, end)]
    pieces, piece_start = [], start
    for i in range(start + 1, end + 1):
        if count_tokens(text[piece_start:i]) > max_tokens:
            pieces.append((piece_start, i - 1))
            piece_start = i - 1
    pieces.append((piece_start, end))
    return [p for p in pieces if p[1] > p[0]]


def chunk_spans(
    text: str,
    max_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    section_starts: frozenset[int] = frozenset(),
) -> list[tuple[int, int]]:
    """Spans of the chunks of `text`, in order.

    A chunk ends before a heading in `section_starts` once it holds a quarter of `max_tokens`,
    and the next one starts at the heading without overlap: a chunk then belongs to one section,
    and its section path says where every sentence of it is. (Smaller sections are joined with
    the next, since a chunk of a heading and one line retrieves poorly.)
    """
    if max_tokens < 16:
        raise ValueError("chunk size must be at least 16 tokens")
    overlap_tokens = max(0, min(overlap_tokens, max_tokens // 2))
    units = split_units(text, max_tokens, section_starts)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and (j == i or used + units[j].tokens <= max_tokens):
            # end early at a section, or at a paragraph break once the chunk is reasonably full
            if j > i and units[j].section_start and used >= max_tokens * 0.25:
                break
            if j > i and units[j].paragraph_start and used >= max_tokens * 0.6:
                break
            used += units[j].tokens
            j += 1
        spans.append((units[i].start, units[j - 1].end))
        if j >= len(units):
            break
        if units[j].section_start:
            i = j
            continue
        # next chunk starts with the trailing sentences of this one that fit in the overlap
        k, back = j, 0
        while k - 1 > i and back + units[k - 1].tokens <= overlap_tokens:
            back += units[k - 1].tokens
            k -= 1
        i = k
    return spans


def chunk_document(
    doc: SourceDocument,
    max_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
) -> list[Chunk]:
    chunks = []
    section_starts = frozenset(h.start for h in doc.headings)
    spans = chunk_spans(doc.text, max_tokens, overlap_tokens, section_starts)
    for position, (start, end) in enumerate(spans):
        chunks.append(
            Chunk(
                chunk_id=make_chunk_id(doc.source_id, doc.doc_hash, position),
                source_id=doc.source_id,
                title=doc.title,
                text=doc.text[start:end],
                start=start,
                end=end,
                position=position,
                language=doc.language,
                doc_hash=doc.doc_hash,
                date=doc.date,
                section=doc.section_at(start),
                pages=doc.pages_in(start, end),
            )
        )
    return chunks


def make_chunk_id(source_id: str, doc_hash: str, position: int) -> str:
    """Deterministic: the same document version always yields the same ids.

    The document's content hash is part of the id, so a changed document's chunks never collide
    with the old version's — which lets an update add the new chunks before deleting the old.
    """
    return str(ChunkId(version_key(source_id, doc_hash), position))


class ChunkId(NamedTuple):
    """`<version>-<position>`, and `<version>-<position>.s<n>` for a chunk's n-th sentence vector:
    the one place that knows how ids are spelled."""

    version: str
    position: int
    sentence: int | None = None

    def __str__(self) -> str:
        base = f"{self.version}-{self.position:05d}"
        return base if self.sentence is None else f"{base}.s{self.sentence}"

    @property
    def chunk(self) -> str:
        """The id of the chunk itself (of a sentence vector's chunk)."""
        return f"{self.version}-{self.position:05d}"

    @classmethod
    def parse(cls, text: str) -> ChunkId:
        base, _, sentence = text.partition(".s")
        version, _, position = base.partition("-")
        return cls(version, int(position), int(sentence) if sentence else None)


def version_key(source_id: str, doc_hash: str) -> str:
    """The prefix shared by all chunk ids of one document version (before the first '-'): search
    tells published chunks from leftovers by id alone, without fetching metadata."""
    return hashlib.sha1(f"{source_id}\0{doc_hash}".encode()).hexdigest()[:16]
