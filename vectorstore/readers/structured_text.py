"""`TextBuilder`: how every parser turns what it read into text with structure.

A parser hands over blocks (paragraphs, list items, table rows, code) and headings and page
starts in reading order; the builder writes each block as its own paragraph — whitespace inside
it collapsed, so a sentence broken across inline elements or PDF lines reads as one — and records
where every heading and page starts in the final text. Chunking splits sentences within
paragraphs and treats each line as a sentence, so a block's text must hold whole sentences:
what a reader sees as one paragraph is one block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from vectorstore.documents import Heading, PageStart

# control characters other than tab/newline come from broken extractions, never from prose
CELL_SEPARATOR = " | "  # between the cells of a table row, whatever format the table came in
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\ufffe\uffff]")


def collapse(text: str) -> str:
    """Whitespace runs (line breaks included) to one space, as HTML and reflowed PDF lines read."""
    return " ".join(text.split())


@dataclass
class ParsedText:
    """What a parser read from one file: the text, its headings and pages, and metadata."""

    text: str
    title: str | None = None
    date: str | None = None
    description: str | None = None
    headings: tuple[Heading, ...] = ()
    pages: tuple[PageStart, ...] = ()


@dataclass
class TextBuilder:
    """Accumulates blocks into one text; see the module docstring."""

    parts: list[str] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    pages: list[PageStart] = field(default_factory=list)
    length: int = 0

    def block(self, text: str, page: str | None = None,
              page_marks: Sequence[tuple[int, str]] = ()) -> None:
        """A paragraph, printed on `page`; `page_marks` are (offset in `text`, page label) where
        it goes on on another page. A parser that gives marks gives single-spaced text, so the
        offsets hold; others get whitespace collapsed."""
        text = text if page_marks else collapse(text)
        start = self._next_start()
        if self._append(text):
            self._on_page(start, page)
            for offset, label in page_marks:
                self._on_page(start + offset, label)

    def lines(self, text: str, page: str | None = None) -> None:
        """A block whose line breaks mean something (code, a table, an address): each line's
        spaces are kept as written, empty lines dropped."""
        kept = [line.rstrip() for line in text.split("\n")]
        start = self._next_start()
        if self._append("\n".join(line for line in kept if line.strip())):
            self._on_page(start, page)

    def heading(self, level: int, title: str, page: str | None = None) -> None:
        title = collapse(title)
        start = self._next_start()
        if self._append(title):
            self.headings.append(Heading(start, max(0, level), title))
            self._on_page(start, page)

    def _on_page(self, start: int, label: str | None) -> None:
        if label is not None and (not self.pages or self.pages[-1].label != label):
            self.pages.append(PageStart(start, label))

    def _next_start(self) -> int:
        return self.length + (2 if self.parts else 0)

    def _append(self, text: str) -> bool:
        if _CONTROL.search(text):
            text = _CONTROL.sub(" ", text)  # one for one: offsets into the text stay right
        if not text.strip():
            return False
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        self.parts.append(text)
        self.length += len(text)
        return True

    def build(self, **meta: str | None) -> ParsedText:
        return ParsedText(text="".join(self.parts), headings=tuple(self.headings),
                          pages=tuple(self.pages), **meta)
