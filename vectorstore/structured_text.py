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
from dataclasses import dataclass, field

from vectorstore.documents import Heading, PageStart

# control characters other than tab/newline come from broken extractions, never from prose
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

    def block(self, text: str) -> None:
        """A paragraph: whitespace collapsed to single spaces."""
        self._append(collapse(text))

    def lines(self, text: str) -> None:
        """A block whose line breaks mean something (code, a table, an address): each line's
        spaces are kept as written, empty lines dropped."""
        kept = [line.rstrip() for line in text.split("\n")]
        self._append("\n".join(line for line in kept if line.strip()))

    def heading(self, level: int, title: str) -> None:
        title = collapse(title)
        if not title:
            return
        self.headings.append(Heading(self._next_start(), max(1, level), title))
        self._append(title)

    def page(self, label: str) -> None:
        """The next block starts a new printed page."""
        start = self._next_start()
        if self.pages and self.pages[-1].start == start:
            self.pages[-1] = PageStart(start, label)
        else:
            self.pages.append(PageStart(start, label))

    def _next_start(self) -> int:
        return self.length + (2 if self.parts else 0)

    def _append(self, text: str) -> None:
        text = _CONTROL.sub("", text)
        if not text.strip():
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        self.parts.append(text)
        self.length += len(text)

    def build(self, **meta: str | None) -> ParsedText:
        text = "".join(self.parts)
        pages = tuple(p for p in self.pages if p.start < len(text))
        return ParsedText(text=text, headings=tuple(self.headings), pages=pages, **meta)
