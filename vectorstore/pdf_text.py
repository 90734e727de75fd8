"""PDF to text as a reader sees the pages: paragraphs re-flowed, page furniture dropped.

pypdfium2 (PDFium, Apache-2.0/BSD) gives each page's text in reading order with a box for every
character; from the boxes this module rebuilds what the eye does:

- lines are joined into paragraphs; a paragraph ends at a larger vertical gap, a first-line
  indent, a change of font size, a list bullet, or a short line that ends a sentence;
- a word hyphenated at a line end is joined again (PDFium marks such hyphens);
- running headers (a line at the top of the page with a page number at one end, or the same
  line on several pages) and page numbers at the bottom are dropped;
- two-column pages are read column by column;
- headings come from the PDF's outline where it has one (matched to the line that prints it),
  else from lines set in a larger font;
- every block keeps its page (the page label the PDF defines, else the page's number).

Letters that old TeX fonts build from a letter and a separate accent ("Belgi¨e", "geı¨nteresseerd")
are composed again, since no normalisation does it and search would miss the word.
Measured on the realdocs PDFs against pypdf's text: see README, "Reading documents".
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass

from vectorstore.structured_text import ParsedText, TextBuilder, collapse

_SOFT_HYPHEN = "\ufffe"  # PDFium's mark of a hyphen it found at a line end
_SPACING_ACCENTS = {"\u00a8": "\u0308", "\u00b4": "\u0301", "\u02c6": "\u0302"}
_LOOSE_ACCENT = re.compile("([\u00a8\u00b4\u02c6])(\u0131|[^\\W\\d_])")
_COMBINING_AFTER_DOTLESS = re.compile("\u0131([\u0300-\u036f])")
_NUMBER = r"(?:\d{1,4}|[ivxlcdm]{1,7})"
_PAGE_NUMBER_ONLY = re.compile(rf"^[-–— ]*{_NUMBER}[-–— ]*$", re.I)
_NUMBER_AT_END = re.compile(rf"(?:^{_NUMBER}\s|\s{_NUMBER}$)", re.I)
_BULLET = re.compile(r"^(?:[–•·▪◦*-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
_SENTENCE_END = re.compile(r"[.!?:;…]['\")\]»”’]*$")
_LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d+|[ivxlc]+)\s*$", re.I)
_SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float  # distance from the top of the page (grows downwards)
    last_top: float  # the same for its last character (a line PDFium joined at a hyphen spans two)
    size: float
    page: int


def parse_pdf(data: bytes) -> ParsedText:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ValueError("PDF is password-protected") from exc
        raise
    try:
        pages = [_page_lines(pdf, i) for i in range(len(pdf))]
        outline = _outline(pdf)
        labels = [_page_label(pdf, i) for i in range(len(pdf))]
        meta = pdf.get_metadata_dict()
    finally:
        pdf.close()
    if not any(pages):
        raise NoTextLayer()
    body = _body_size([line for page in pages for line in page])
    _drop_furniture(pages, body)
    builder = TextBuilder()
    for index, lines in enumerate(pages):
        builder.page(labels[index])
        _add_page(builder, lines, body, outline.get(index, []))
    title = collapse(meta.get("Title") or "") or _title_lines(pages[:2], body)
    return builder.build(title=title, date=_pdf_date(meta.get("CreationDate")))


class NoTextLayer(ValueError):
    """The PDF's pages hold images only (a scan)."""


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


def _page_lines(pdf, index: int) -> list[_Line]:
    import pypdfium2.raw as raw

    page = pdf[index]
    textpage = page.get_textpage()
    try:
        height = page.get_height()
        text = textpage.get_text_range()
        lines: list[_Line] = []
        pos = 0
        for raw_line in re.split(r"\r\n|\n|\r", text):
            start, end = pos, pos + len(raw_line)
            pos = end + (2 if text[end : end + 2] == "\r\n" else 1)
            stripped = raw_line.strip()
            if not stripped:
                continue
            first = start + (len(raw_line) - len(raw_line.lstrip()))
            last = start + len(raw_line.rstrip()) - 1
            left, _, _, top = textpage.get_charbox(first)
            _, _, right, last_top = textpage.get_charbox(last)
            if _LEADER.search(stripped):
                continue  # a table-of-contents line: the headings are in the text already
            size = raw.FPDFText_GetFontSize(textpage.raw, first)
            lines.append(_Line(_repair_accents(stripped), left, right, height - top,
                               height - last_top, size, index))
        return _reading_order(lines, page.get_width())
    finally:
        textpage.close()
        page.close()


def _repair_accents(text: str) -> str:
    text = _LOOSE_ACCENT.sub(
        lambda m: ("i" if m.group(2) == "\u0131" else m.group(2)) + _SPACING_ACCENTS[m.group(1)],
        text)
    text = _COMBINING_AFTER_DOTLESS.sub(lambda m: "i" + m.group(1), text)
    return unicodedata.normalize("NFC", text)


def _reading_order(lines: list[_Line], width: float) -> list[_Line]:
    """Two columns are read left then right; lines spanning both stay where they are."""
    if len(lines) < 8:
        return lines
    middle = width / 2
    left = [ln for ln in lines if ln.x1 < middle + width * 0.02]
    right = [ln for ln in lines if ln.x0 > middle - width * 0.02]
    if len(left) < len(lines) * 0.3 or len(right) < len(lines) * 0.3:
        return lines
    spanning = [ln for ln in lines if ln not in left and ln not in right]
    columns = sorted(left, key=lambda ln: ln.top) + sorted(right, key=lambda ln: ln.top)
    above = [ln for ln in spanning if ln.top < min(c.top for c in columns)]
    below = [ln for ln in spanning if ln not in above]
    return above + columns + below


def _body_size(lines: list[_Line]) -> float:
    sizes = Counter(round(line.size, 1) for line in lines)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _title_lines(pages: list[list[_Line]], body: float) -> str | None:
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
    return re.sub(r"\d+", "#", collapse(text).lower())


def _drop_furniture(pages: list[list[_Line]], body: float) -> None:
    """Remove running headers, footers and page numbers in place (see module docstring)."""
    tops = Counter(_furniture_key(p[0].text) for p in pages if p)
    bottoms = Counter(_furniture_key(p[-1].text) for p in pages if p)
    repeated = max(3, len(pages) // 20)
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


def _gap_after(lines: list[_Line], i: int) -> float:
    """The gap below line i in units of the page's usual line distance."""
    steps = [b.top - a.last_top for a, b in zip(lines, lines[1:], strict=False) if b.top > a.last_top]
    usual = statistics.median(steps) if steps else 12.0
    return (lines[i + 1].top - lines[i].last_top) / usual if usual else 0.0


def _add_page(builder: TextBuilder, lines: list[_Line], body: float,
              outline: list[tuple[int, str]]) -> None:
    if not lines:
        return
    steps = [b.top - a.last_top for a, b in zip(lines, lines[1:], strict=False)
             if b.top - a.last_top > 0]
    spacing = statistics.median(steps) if steps else body * 1.2
    body_lines = [ln for ln in lines if abs(ln.size - body) < 0.6]
    margin = min((ln.x0 for ln in body_lines), default=min(ln.x0 for ln in lines))
    right = max((ln.x1 for ln in body_lines), default=max(ln.x1 for ln in lines))
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            builder.block(_join_lines(paragraph))
            paragraph.clear()

    previous: _Line | None = None
    for line in lines:
        level = _heading_level(line, body, outline)
        if level:
            flush()
            builder.heading(level, line.text.replace(_SOFT_HYPHEN, "-"))
            previous = None
            continue
        if previous is not None and _starts_paragraph(previous, line, spacing, margin, right):
            flush()
        paragraph.append(line.text)
        previous = line
    flush()


def _heading_level(line: _Line, body: float, outline: list[tuple[int, str]]) -> int:
    """The heading level of a line, or 0: an outline entry printed on this line, or (in a PDF
    without an outline) a short line in a clearly larger font."""
    key = _title_key(line.text)
    for level, title in outline:
        if key and key == _title_key(title):
            return level
    if not outline and line.size >= body * 1.15 and len(line.text.split()) <= 12:
        number = _SECTION_NUMBER.match(line.text)
        return number.group(1).count(".") + 1 if number else 1
    return 0


def _title_key(text: str) -> str:
    text = re.sub(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.(?:\d+\.?)*)\s+", "", collapse(text))
    return re.sub(r"\W+", "", unicodedata.normalize("NFKC", text).casefold())


def _starts_paragraph(previous: _Line, line: _Line, spacing: float, margin: float,
                      right: float) -> bool:
    if abs(line.size - previous.size) > 1.0:
        return True
    gap = line.top - previous.last_top
    if gap > spacing * 1.45:
        return True
    if _BULLET.match(line.text):
        return True
    indent = line.x0 - margin
    if gap >= 0 and 6 < indent < 40 and previous.x0 - margin < indent - 4:
        return True  # first-line indent
    ends_short = previous.x1 < right - max(20.0, (right - margin) * 0.12)
    return ends_short and bool(_SENTENCE_END.search(previous.text))


def _join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one text; a hyphen PDFium marks at a line end joins the word
    again (between lower-case letters; "ASCII-omgeving" keeps its hyphen)."""
    text = " ".join(lines)
    text = re.sub(rf"(?<=[^\W\d_]){_SOFT_HYPHEN}\s*(?=[a-zà-ÿ])",
                  lambda m: "" if text[m.start() - 1].islower() else "-", text)
    return text.replace(_SOFT_HYPHEN, "-")
