"""PDF to text as a reader sees the pages: paragraphs re-flowed, page furniture dropped.

pypdfium2 (PDFium, Apache-2.0/BSD) gives each page's text in reading order with a box for every
character; from the boxes this module rebuilds what the eye does:

- lines are joined into paragraphs; a paragraph ends at a larger vertical gap, a first-line
  indent, a change of font size, a list bullet, or a short line that ends a sentence;
- a word hyphenated at a line end is joined again (PDFium marks such hyphens);
- running headers (a line at the top of the page with a page number at one end, or the same
  line on several pages), page numbers at the bottom and contents pages are dropped;
- two-column pages are read column by column;
- a table's row stays one line, its cells apart by " | " where a space is wider than two ems;
- headings come from the PDF's outline where it has one (matched to the line that prints it),
  else from lines set in a larger font;
- every block keeps its page (the page label the PDF defines, else the page's number);
- a PDF without a text layer (a scan) is read by OCR when Tesseract is installed (`ocr`).

Letters that old TeX fonts build from a letter and a separate accent ("geı¨nteresseerd")
are composed again, since no normalisation does it and search would miss the word.
Measured on the realdocs PDFs against pypdf's text: see README, "Reading documents".

The lines themselves — characters to printed lines, columns — are `pdf_lines`'.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from vectorstore.readers import ocr
from vectorstore.readers.pdf_lines import SOFT_HYPHEN, WORD, Line, page_lines
from vectorstore.readers.structured_text import CELL_SEPARATOR, ParsedText, TextBuilder, collapse
from vectorstore.text import normalise

# and the hyphens typesetters print where they break a word (a browser prints U+2010 for &shy;)
_LINE_END_HYPHENS = (SOFT_HYPHEN, "\u2010", "\u00ad")
# an arabic page number, or a well-formed roman one ("xviii", not any word of the letters ivxlcdm)
_NUMBER = r"(?:\d{1,4}|(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))"
_PAGE_NUMBER_ONLY = re.compile(rf"^[-–— ]*{_NUMBER}[-–— ]*$", re.I)
_NUMBER_AT_END = re.compile(rf"(?:^{_NUMBER}\s|\s{_NUMBER}$)", re.I)
_BULLET = re.compile(r"^(?:[–•·▪◦*-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
_SENTENCE_END = re.compile(r"[.!?:;…]['\")\]»”’]*$")
_TOKEN = re.compile(r"[^\W_]{2}")  # nor does a paragraph of symbols printed large or tiny
_SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")


def parse_pdf(data: bytes) -> ParsedText:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ValueError("PDF is password-protected") from exc
        raise
    try:
        pages = [page_lines(pdf, i) for i in range(len(pdf))]
        outline = _outline(pdf)
        labels = [_page_label(pdf, i) for i in range(len(pdf))]
        meta = pdf.get_metadata_dict()
        if not any(pages):
            if not ocr.available():
                raise NoTextLayer()
            parsed = ocr.ocr_pdf(pdf, labels)
            parsed.title = collapse(meta.get("Title") or "") or None
            return parsed
    finally:
        pdf.close()
    body = _body_size([line for page in pages for line in page])
    _drop_furniture(pages, body)
    builder = TextBuilder()
    assembler = _Assembler(builder, labels, body)
    for index, lines in enumerate(pages):
        assembler.page(_segments(lines, body, outline.get(index, [])))
    assembler.finish()
    title = collapse(meta.get("Title") or "") or _title_lines(pages[:2], body)
    return builder.build(title=title, date=_pdf_date(meta.get("CreationDate")))


class NoTextLayer(ValueError):
    """The PDF's pages hold images only (a scan) and no OCR engine is installed."""


def _page_label(pdf, index: int) -> str:
    try:
        label = pdf.get_page_label(index)
    except Exception:  # noqa: BLE001 - PDFs with a broken label tree still have page numbers
        label = ""
    return label or str(index + 1)


def _pdf_date(value: str | None) -> str | None:
    match = re.match(r"D:(\d{4})(\d{2})(\d{2})", value or "")
    return f"{match.group(1)}-{match.group(2)}-{match.group(3)}" if match else None


def _outline(pdf) -> dict[int, list[tuple[int, str]]]:
    """Outline entries by page index: (level, title)."""
    entries: dict[int, list[tuple[int, str]]] = {}
    try:
        for item in pdf.get_toc(max_depth=6):
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = collapse(item.get_title() or "")
            if index is not None and title:
                entries.setdefault(index, []).append((item.level + 1, title))
    except Exception:  # noqa: BLE001 - a broken outline costs the headings, not the text
        return {}
    return entries


def _body_size(lines: list[Line]) -> float:
    sizes = Counter(round(line.size, 1) for line in lines)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _title_lines(pages: list[list[Line]], body: float) -> str | None:
    """The largest print of the first pages (a title page), when it stands out from the body."""
    lines = [line for page in pages for line in page]
    if not lines:
        return None
    largest = max(line.size for line in lines)
    if largest < body * 1.3:
        return None
    first = next(line for line in lines if line.size == largest)
    same = [ln for ln in lines if ln.page == first.page and abs(ln.size - largest) < 0.5]
    return collapse(" ".join(ln.text for ln in same)) or None


def _furniture_key(text: str) -> str:
    """A header's text with its page number, arabic or roman, made one sign."""
    return re.sub(rf"^{_NUMBER}\b|\b{_NUMBER}$|\d+", "#", collapse(text).lower())


def _drop_furniture(pages: list[list[Line]], body: float) -> None:
    """Remove running headers, footers and page numbers in place (see module docstring)."""
    tops = Counter(_furniture_key(p[0].text) for p in pages if p)
    bottoms = Counter(_furniture_key(p[-1].text) for p in pages if p)
    repeated = max(2, len(pages) // 20)
    for lines in pages:
        if not lines:
            continue
        first = lines[0]
        if first.size <= body + 0.5 and (
            _PAGE_NUMBER_ONLY.match(first.text)
            or (_NUMBER_AT_END.search(first.text) and len(first.text.split()) <= 12
                and len(lines) > 1 and _gap_after(lines, 0) > 1.3)
            or tops[_furniture_key(first.text)] >= repeated
        ):
            lines.pop(0)
        if lines and (_PAGE_NUMBER_ONLY.match(lines[-1].text)
                      or bottoms[_furniture_key(lines[-1].text)] >= repeated):
            lines.pop()


def _gap_after(lines: list[Line], i: int) -> float:
    """The gap below line i in units of the page's usual line distance."""
    steps = [b.top - a.last_top for a, b in zip(lines, lines[1:], strict=False) if b.top > a.last_top]
    usual = statistics.median(steps) if steps else 12.0
    return (lines[i + 1].top - lines[i].last_top) / usual if usual else 0.0


@dataclass
class _Segment:
    """A run of lines read as one unit: a paragraph, a code block or a heading."""

    kind: str  # "text", "code", "row" (of a table) or "heading"
    lines: list[Line]
    level: int = 0

    @property
    def is_open(self) -> bool:
        """A paragraph whose last line does not end a sentence: it may go on on the next page."""
        return self.kind == "text" and not _SENTENCE_END.search(self.lines[-1].text)


def _segments(lines: list[Line], body: float, outline: list[tuple[int, str]]) -> list[_Segment]:
    """One page's lines grouped into paragraphs, code blocks and headings."""
    if not lines:
        return []
    steps = [b.top - a.last_top for a, b in zip(lines, lines[1:], strict=False)
             if b.top - a.last_top > 0]
    spacing = statistics.median(steps) if steps else body * 1.2
    lines = _join_wrapped_headings(lines, body, outline)
    body_lines = [ln for ln in lines if abs(ln.size - body) < 0.6] or lines
    margin = min(ln.x0 for ln in body_lines)
    right = max(ln.x1 for ln in body_lines)
    segments: list[_Segment] = []
    for line, below in zip(lines, [*lines[1:], None], strict=True):
        level = _heading_level(line, body, outline)
        last = segments[-1] if segments else None
        if last is not None and last.kind == "row" and below is not None and not level \
                and CELL_SEPARATOR not in line.text and CELL_SEPARATOR in below.text \
                and abs(below.x0 - line.x0) < 2:
            below.text = f"{line.text} {below.text}"  # a first cell on two lines, in a table
            continue
        if below is not None and len(line.text) == 1 and line.text.isalpha() \
                and line.size > body * 1.5 and below.text[:1].islower():
            below.text = line.text + below.text  # a drop cap: the paragraph's first letter
            continue
        if level:
            segments.append(_Segment("heading", [line], level))
        elif line.code or CELL_SEPARATOR in line.text:
            # code and table rows keep their lines: each is a statement or a row, not a sentence's
            kind = "code" if line.code else "row"
            if last is not None and last.kind == kind:
                last.lines.append(line)
            else:
                segments.append(_Segment(kind, [line]))
        elif last is not None and last.kind == "text" and not _starts_paragraph(
                last.lines[-1], line, last.lines[0], spacing, margin, right):
            last.lines.append(line)
        else:
            segments.append(_Segment("text", [line]))
    return segments


class _Assembler:
    """Writes the pages' segments into the builder; a paragraph left open at the foot of a page
    (footnotes below it do not count) is held and joined with the next page's first paragraph
    when that one starts in lower case, so a sentence printed across a page break is one."""

    def __init__(self, builder: TextBuilder, labels: list[str], body: float) -> None:
        self.builder, self.labels, self.body = builder, labels, body
        self.held: _Segment | None = None

    def page(self, segments: list[_Segment]) -> None:
        if self.held is not None:
            first = segments[0] if segments else None
            if first is not None and first.kind == "text" and first.lines[0].text[:1].islower():
                first.lines[:0] = self.held.lines
            else:
                self._write(self.held)
            self.held = None
        texts = [i for i, s in enumerate(segments) if s.kind == "text" and _is_body(s, self.body)]
        last_body = texts[-1] if texts else None
        for i, segment in enumerate(segments):
            if i == last_body and segment.is_open and all(
                    s.kind == "text" and not _is_body(s, self.body) for s in segments[i + 1 :]):
                self.held = segment
            else:
                self._write(segment)

    def finish(self) -> None:
        if self.held is not None:
            self._write(self.held)
            self.held = None

    def _write(self, segment: _Segment) -> None:
        label = self.labels[segment.lines[0].page]
        if segment.kind == "heading":
            self.builder.heading(segment.level, segment.lines[0].text.replace(SOFT_HYPHEN, "-"),
                                 page=label)
        elif segment.kind in ("code", "row"):
            self.builder.lines("\n".join(ln.text for ln in segment.lines), page=label)
        elif 0.75 * self.body < segment.lines[0].size < 1.5 * self.body \
                or _TOKEN.search(" ".join(ln.text for ln in segment.lines)):
            text, marks = _join_lines(segment.lines)
            self.builder.block(text, page=label,
                               page_marks=[(offset, self.labels[page]) for offset, page in marks])


def _is_body(segment: _Segment, body: float) -> bool:
    return abs(segment.lines[0].size - body) < 0.6


def _heading_level(line: Line, body: float, outline: list[tuple[int, str]]) -> int:
    """The heading level of a line, or 0: an outline entry printed on this line, or (in a PDF
    without an outline) a short line in a clearly larger font."""
    key = _title_key(line.text)
    for level, title in outline:
        if key and key == _title_key(title):
            return level
    if not outline and line.size >= body * 1.15 and len(line.text.split()) <= 12 \
            and WORD.search(line.text):  # not a large symbol ("h" from a music font)
        number = _SECTION_NUMBER.match(line.text)
        return number.group(1).count(".") + 1 if number else 1
    return 0


def _join_wrapped_headings(lines: list[Line], body: float, outline: list[tuple[int, str]]
                           ) -> list[Line]:
    """A heading printed on two or three lines made one line: the lines together are an outline
    entry of the page, or (without an outline) they are set in the same large font, one right
    below the other, and the first does not end a sentence."""
    titles = {_title_key(title) for _, title in outline}
    joined: list[Line] = []
    i = 0
    while i < len(lines):
        line, taken = lines[i], 1
        for more in (2, 3):
            group = lines[i : i + more]
            if len(group) < more:
                break
            key = _title_key(" ".join(ln.text for ln in group))
            if outline and key in titles and _title_key(line.text) not in titles:
                taken = more
                break
            if not outline and _large_run(group, body):
                taken = more
        if taken > 1:
            group = lines[i : i + taken]
            line = Line(" ".join(ln.text for ln in group), min(ln.x0 for ln in group),
                         max(ln.x1 for ln in group), line.top, group[-1].last_top, line.size,
                         line.page, False)
        joined.append(line)
        i += taken
    return joined


def _large_run(group: list[Line], body: float) -> bool:
    first = group[0]
    return first.size >= body * 1.15 and WORD.search(first.text) is not None \
        and all(abs(ln.size - first.size) < 0.3 and not ln.code for ln in group) \
        and all(0 < b.top - a.last_top < 1.6 * a.size and not _SENTENCE_END.search(a.text)
                for a, b in zip(group, group[1:], strict=False)) \
        and len(" ".join(ln.text for ln in group).split()) <= 20


def _title_key(text: str) -> str:
    text = re.sub(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.(?:\d+\.?)*)\s+", "", collapse(text))
    return normalise(text, case="casefold", letters_and_digits=True)


def _starts_paragraph(previous: Line, line: Line, opening: Line | None, spacing: float,
                      margin: float, right: float) -> bool:
    if abs(line.size - previous.size) > 1.0:
        return True
    gap = line.top - previous.last_top
    if gap > spacing * 1.45:
        return True
    if _BULLET.match(line.text):
        return True
    if opening is not None and _BULLET.match(opening.text) and line.x0 > opening.x0 + 2:
        return False  # a list item's hanging indent continues the item
    if not _SENTENCE_END.search(previous.text):
        return False  # a sentence goes on (a hanging indent, a line of a list item)
    indent = line.x0 - margin
    if gap >= 0 and 6 < indent < 40 and previous.x0 - margin < indent - 4:
        return True  # first-line indent
    return previous.x1 < right - max(20.0, (right - margin) * 0.12)  # a short last line


def _join_lines(lines: list[Line]) -> tuple[str, list[tuple[int, int]]]:
    """Lines of one paragraph as one text, and where in it a new page starts (offset, page
    index). A hyphen PDFium marks at a line end joins the word again when lower-case letters
    surround it ("ASCII-omgeving" keeps its hyphen)."""
    text, marks = "", []
    for line in lines:
        piece = collapse(line.text)
        if text.endswith(_LINE_END_HYPHENS):
            keep = not (len(text) > 1 and text[-2].islower() and piece[:1].islower())
            text = text[:-1] + ("-" if keep else "")
        elif text:
            text += " "
        if marks and marks[-1][1] != line.page or not marks:
            marks.append((len(text), line.page))
        text += piece
    text = text.replace(SOFT_HYPHEN, "-")
    return text, marks[1:]
