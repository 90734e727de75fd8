"""A PDF page's printed lines, rebuilt from PDFium's characters and their boxes: where a line
ends, its font size and baseline, a line set in a fixed-pitch font, table cells apart by " | ",
accents that old TeX fonts print apart put back on their letter, and two columns read one after
the other. `pdf_text` makes paragraphs, headings and pages of these lines.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from dataclasses import dataclass

from vectorstore.readers.structured_text import CELL_SEPARATOR

SOFT_HYPHEN = "\ufffe"  # PDFium's mark of a hyphen it found at a line end
WORD = re.compile(r"[^\W\d_]{3}")  # a heading holds a word; a symbol font's glyph ("h") does not
_SPACING_ACCENTS = {"\u00a8": "\u0308", "\u00b4": "\u0301", "\u02c6": "\u0302", "`": "\u0300",
                    "\u02dc": "\u0303", "\u00b8": "\u0327", "\u02c7": "\u030c", "\u02d8": "\u0306",
                    "\u02da": "\u030a", "\u00af": "\u0304"}
_LEADER = re.compile(r"(?:\.\s?){5,}\s*\|?\s*(?:\d+|[ivxlc]+)\s*$", re.I)
_CELL_GAP = 2.0  # ems between two words on a line that set them in different table cells
_MONO_FONT = re.compile(r"mono|courier|cmtt|typewriter|consol|menlo|code|\btt", re.I)


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float  # its first character's baseline, from the top of the page (grows downwards)
    last_top: float  # the same for its last character
    size: float
    page: int
    code: bool = False  # set in a fixed-pitch font from its first to its last character


def page_lines(pdf, index: int) -> list[Line]:
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
        lines: list[Line] = []
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
                continue  # not text (a hyphen at a line end is `SOFT_HYPHEN` by now)
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
    """The character at PDFium's `index`; a line-end hyphen as `SOFT_HYPHEN`."""
    import pypdfium2.raw as raw

    code = raw.FPDFText_GetUnicode(textpage.raw, index)
    if code == 2 and raw.FPDFText_IsHyphen(textpage.raw, index):
        return SOFT_HYPHEN
    return chr(code)


def _new_line(previous: tuple[float, float, float, float], box: tuple[float, float, float, float]
              ) -> bool:
    """The character is below the previous one by more than half a line and not to its right."""
    line_height = max(previous[3] - previous[2], box[3] - box[2], 1.0)
    return previous[2] - box[3] > -0.5 * line_height and box[0] < previous[1] - line_height \
        and previous[2] - box[2] > 0.5 * line_height


def _make_line(textpage, text: str, indices: list[int], inked: list[int],
               boxes: dict[int, tuple[float, float, float, float]], height: float, page: int
               ) -> Line:
    import pypdfium2.raw as raw

    first, last = inked[0], inked[-1]
    size = raw.FPDFText_GetFontSize(textpage.raw, first)
    code = _fixed_pitch(textpage, first) and _fixed_pitch(textpage, last)
    return Line(_line_text(text, indices, boxes, None if code else _CELL_GAP * size),
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


def _reading_order(lines: list[Line], width: float) -> list[Line]:
    """Two columns are read left then right; lines spanning both stay where they are."""
    if len(lines) < 8:
        return lines
    middle = width / 2
    left = [ln for ln in lines if ln.x1 < middle + width * 0.02]
    right = [ln for ln in lines if ln.x0 > middle - width * 0.02]
    # a column holds words: a formula typeset beside its source (glyphs, digits) is no column
    wordy = [ln for ln in lines if WORD.search(ln.text)]
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
