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

One module of ~480 lines: every step works on the same page, line and character model, and
splitting it would pass those structures between modules for no reader's gain.
"""

from __future__ import annotations

import ctypes
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass

from vectorstore import ocr
from vectorstore.structured_text import CELL_SEPARATOR, ParsedText, TextBuilder, collapse

_SOFT_HYPHEN = "\ufffe"  # PDFium's mark of a hyphen it found at a line end
# and the hyphens typesetters print where they break a word (a browser prints U+2010 for &shy;)
_LINE_END_HYPHENS = (_SOFT_HYPHEN, "\u2010", "\u00ad")
_SPACING_ACCENTS = {"\u00a8": "\u0308", "\u00b4": "\u0301", "\u02c6": "\u0302", "`": "\u0300",
                    "\u02dc": "\u0303", "\u00b8": "\u0327", "\u02c7": "\u030c", "\u02d8": "\u0306",
                    "\u02da": "\u030a", "\u00af": "\u0304"}
# an arabic page number, or a well-formed roman one ("xviii", not any word of the letters ivxlcdm)
_NUMBER = r"(?:\d{1,4}|(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))"
_PAGE_NUMBER_ONLY = re.compile(rf"^[-–— ]*{_NUMBER}[-–— ]*$", re.I)
_NUMBER_AT_END = re.compile(rf"(?:^{_NUMBER}\s|\s{_NUMBER}$)", re.I)
_BULLET = re.compile(r"^(?:[–•·▪◦*-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
_SENTENCE_END = re.compile(r"[.!?:;…]['\")\]»”’]*$")
_MONO_FONT = re.compile(r"mono|courier|cmtt|typewriter|consol|menlo|code|\btt", re.I)
_LEADER = re.compile(r"(?:\.\s?){5,}\s*\|?\s*(?:\d+|[ivxlc]+)\s*$", re.I)
_CELL_GAP = 2.0  # ems between two words on a line that set them in different table cells
_WORD = re.compile(r"[^\W\d_]{3}")  # a heading holds a word; a symbol font's glyph ("h") does not
_TOKEN = re.compile(r"[^\W_]{2}")  # nor does a paragraph of symbols printed large or tiny
_SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float  # its first character's baseline, from the top of the page (grows downwards)
    last_top: float  # the same for its last character
    size: float
    page: int
    code: bool = False  # set in a fixed-pitch font from its first to its last character


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


def _page_lines(pdf, index: int) -> list[_Line]:
    """The page's printed lines, from its characters' boxes: a line ends where PDFium says so or
    where the next character sits lower on the page and back to the left — PDFium's own line
    breaks are missing between some lines of the same paragraph."""
    import pypdfium2.raw as raw

    page = pdf[index]
    textpage = page.get_textpage()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    try:
        height = page.get_height()
        # one character per PDFium index: `get_text_range()` leaves out U+0000 and U+0002
        # (Ghostscript's PDFs and TeX's math fonts hold some), and every box after one belonged
        # to the next character; PDFium reports a hyphen it found at a line end as U+0002
        text = "".join(_character(textpage, i) for i in range(textpage.count_chars()))
        lines: list[_Line] = []
        entries = 0  # table-of-contents entries (dotted leaders): the headings say them
        current: list[int] = []  # indices of the current line's characters
        boxes: dict[int, tuple[float, float, float, float]] = {}

        def close() -> None:
            nonlocal entries
            inked = [i for i in current if i in boxes]
            if inked:
                line = _make_line(textpage, text, current, inked, boxes, height, index)
                if _LEADER.search(line.text):
                    entries += 1
                else:
                    lines.append(line)
            current.clear()

        for i, char in enumerate(text):
            if char in "\x00\x02":
                continue  # not text (a hyphen at a line end is `_SOFT_HYPHEN` by now)
            if char in "\r\n":
                close()
                continue
            if not char.isspace():
                raw.FPDFText_GetCharBox(textpage.raw, i, left, right, bottom, top)
                box = (left.value, right.value, bottom.value, top.value)
                if box[0] == box[1] and box[2] == box[3]:
                    current.append(i)  # no glyph box: it stays where the text order puts it
                    continue
                boxes[i] = box
                previous = next((boxes[j] for j in reversed(current) if j in boxes), None)
                if previous is not None and _new_line(previous, box):
                    close()
            current.append(i)
        close()
        if entries >= 5 and entries >= len(lines):
            return []  # a contents page: its entries without leaders (chapters, wrapped titles) too
        return _reading_order(lines, page.get_width())
    finally:
        textpage.close()
        page.close()


def _character(textpage, index: int) -> str:
    """The character at PDFium's `index`; a line-end hyphen as `_SOFT_HYPHEN`."""
    import pypdfium2.raw as raw

    code = raw.FPDFText_GetUnicode(textpage.raw, index)
    if code == 2 and raw.FPDFText_IsHyphen(textpage.raw, index):
        return _SOFT_HYPHEN
    return chr(code)


def _new_line(previous: tuple[float, float, float, float], box: tuple[float, float, float, float]
              ) -> bool:
    """The character is below the previous one by more than half a line and not to its right."""
    line_height = max(previous[3] - previous[2], box[3] - box[2], 1.0)
    return previous[2] - box[3] > -0.5 * line_height and box[0] < previous[1] - line_height \
        and previous[2] - box[2] > 0.5 * line_height


def _make_line(textpage, text: str, indices: list[int], inked: list[int],
               boxes: dict[int, tuple[float, float, float, float]], height: float, page: int
               ) -> _Line:
    import pypdfium2.raw as raw

    first, last = inked[0], inked[-1]
    size = raw.FPDFText_GetFontSize(textpage.raw, first)
    code = _fixed_pitch(textpage, first) and _fixed_pitch(textpage, last)
    return _Line(_line_text(text, indices, boxes, None if code else _CELL_GAP * size),
                 min(boxes[i][0] for i in inked),
                 max(boxes[i][1] for i in inked), height - _baseline(textpage, first),
                 height - _baseline(textpage, last), size, page, code)


def _line_text(text: str, indices: list[int], boxes: dict[int, tuple[float, float, float, float]],
               cell_gap: float | None) -> str:
    """The line's text with each loose accent put on the letter it is printed above (old TeX
    fonts draw "ë" as "e" plus a separate "¨", which PDFium may list anywhere in the line), and
    " | " where a space is wider than `cell_gap`, as a table's cells are apart (None in code,
    whose wide spaces align it)."""
    chars = {i: text[i] for i in indices}
    letters = [i for i in indices if i in boxes and text[i].isalpha()]
    printed = [i for i in indices if i in boxes and text[i] not in _SPACING_ACCENTS]
    for a, b in zip(printed, printed[1:], strict=False):
        spaces = [k for k in range(a + 1, b) if k in chars and text[k].isspace()]
        if spaces and cell_gap and boxes[b][0] - boxes[a][1] > cell_gap:
            chars[spaces[0]] = CELL_SEPARATOR
    for i in indices:
        mark = _SPACING_ACCENTS.get(text[i])
        if mark is None or i not in boxes:
            continue
        centre = (boxes[i][0] + boxes[i][1]) / 2
        base = next((j for j in letters if boxes[j][0] <= centre <= boxes[j][1]), None)
        if base is not None:
            chars[base] = ("i" if chars[base] == "\u0131" else chars[base]) + mark
            chars[i] = ""
    line = "".join(chars[i] for i in indices).strip()
    return unicodedata.normalize("NFC", " ".join(line.split(" ")))


def _baseline(textpage, index: int) -> float:
    import pypdfium2.raw as raw

    x, y = ctypes.c_double(), ctypes.c_double()
    raw.FPDFText_GetCharOrigin(textpage.raw, index, x, y)
    return y.value


def _fixed_pitch(textpage, index: int) -> bool:
    import pypdfium2.raw as raw

    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    raw.FPDFText_GetFontInfo(textpage.raw, index, name, 128, ctypes.byref(flags))
    return bool(flags.value & 1) or bool(_MONO_FONT.search(name.value.decode("latin-1")))


def _reading_order(lines: list[_Line], width: float) -> list[_Line]:
    """Two columns are read left then right; lines spanning both stay where they are."""
    if len(lines) < 8:
        return lines
    middle = width / 2
    left = [ln for ln in lines if ln.x1 < middle + width * 0.02]
    right = [ln for ln in lines if ln.x0 > middle - width * 0.02]
    # a column holds words: a formula typeset beside its source (glyphs, digits) is no column
    wordy = [ln for ln in lines if _WORD.search(ln.text)]
    if sum(ln in left for ln in wordy) < len(wordy) * 0.3 \
            or sum(ln in right for ln in wordy) < len(wordy) * 0.3:
        return lines
    both = [ln for ln in left if ln in right]  # narrow and centred: a page number, a header
    left = [ln for ln in left if ln not in both]
    right = [ln for ln in right if ln not in both]
    spanning = sorted([ln for ln in lines if ln not in left and ln not in right],
                      key=lambda ln: ln.top)
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
    """A header's text with its page number, arabic or roman, made one sign."""
    return re.sub(rf"^{_NUMBER}\b|\b{_NUMBER}$|\d+", "#", collapse(text).lower())


def _drop_furniture(pages: list[list[_Line]], body: float) -> None:
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


def _gap_after(lines: list[_Line], i: int) -> float:
    """The gap below line i in units of the page's usual line distance."""
    steps = [b.top - a.last_top for a, b in zip(lines, lines[1:], strict=False) if b.top > a.last_top]
    usual = statistics.median(steps) if steps else 12.0
    return (lines[i + 1].top - lines[i].last_top) / usual if usual else 0.0


@dataclass
class _Segment:
    """A run of lines read as one unit: a paragraph, a code block or a heading."""

    kind: str  # "text", "code", "row" (of a table) or "heading"
    lines: list[_Line]
    level: int = 0

    @property
    def is_open(self) -> bool:
        """A paragraph whose last line does not end a sentence: it may go on on the next page."""
        return self.kind == "text" and not _SENTENCE_END.search(self.lines[-1].text)


def _segments(lines: list[_Line], body: float, outline: list[tuple[int, str]]) -> list[_Segment]:
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
            self.builder.heading(segment.level, segment.lines[0].text.replace(_SOFT_HYPHEN, "-"),
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


def _heading_level(line: _Line, body: float, outline: list[tuple[int, str]]) -> int:
    """The heading level of a line, or 0: an outline entry printed on this line, or (in a PDF
    without an outline) a short line in a clearly larger font."""
    key = _title_key(line.text)
    for level, title in outline:
        if key and key == _title_key(title):
            return level
    if not outline and line.size >= body * 1.15 and len(line.text.split()) <= 12 \
            and _WORD.search(line.text):  # not a large symbol ("h" from a music font)
        number = _SECTION_NUMBER.match(line.text)
        return number.group(1).count(".") + 1 if number else 1
    return 0


def _join_wrapped_headings(lines: list[_Line], body: float, outline: list[tuple[int, str]]
                           ) -> list[_Line]:
    """A heading printed on two or three lines made one line: the lines together are an outline
    entry of the page, or (without an outline) they are set in the same large font, one right
    below the other, and the first does not end a sentence."""
    titles = {_title_key(title) for _, title in outline}
    joined: list[_Line] = []
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
            line = _Line(" ".join(ln.text for ln in group), min(ln.x0 for ln in group),
                         max(ln.x1 for ln in group), line.top, group[-1].last_top, line.size,
                         line.page, False)
        joined.append(line)
        i += taken
    return joined


def _large_run(group: list[_Line], body: float) -> bool:
    first = group[0]
    return first.size >= body * 1.15 and _WORD.search(first.text) is not None \
        and all(abs(ln.size - first.size) < 0.3 and not ln.code for ln in group) \
        and all(0 < b.top - a.last_top < 1.6 * a.size and not _SENTENCE_END.search(a.text)
                for a, b in zip(group, group[1:], strict=False)) \
        and len(" ".join(ln.text for ln in group).split()) <= 20


def _title_key(text: str) -> str:
    text = re.sub(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.(?:\d+\.?)*)\s+", "", collapse(text))
    return re.sub(r"\W+", "", unicodedata.normalize("NFKC", text).casefold())


def _starts_paragraph(previous: _Line, line: _Line, opening: _Line | None, spacing: float,
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


def _join_lines(lines: list[_Line]) -> tuple[str, list[tuple[int, int]]]:
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
    text = text.replace(_SOFT_HYPHEN, "-")
    return text, marks[1:]
