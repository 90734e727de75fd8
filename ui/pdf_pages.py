"""A PDF page as a picture with a quoted sentence marked on it, so a reader checks a citation
against the page as printed (columns, tables and formulas included), not only against the text
Kenbron extracted from it.

The quote comes from the re-flowed text (line breaks removed, hyphenated words joined), which
PDFium's own text keeps: so it is found by its first and last few words, each short enough to
sit on one printed line, and everything between is marked. Pages are rendered with pypdfium2
(Apache/BSD, already used to read PDFs) and written once per page and quote.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)

SCALE = 1.6  # 115 dpi: small print stays legible in a side panel
HIGHLIGHT = (255, 208, 77, 110)  # translucent yellow, RGBA
_PROBE_WORDS = (6, 4, 3, 2)  # words of the quote's start or end searched for, longest first


def page_index(pdf, label: str) -> int | None:
    """The index of the page printed as `label` (as `pdf_text` records pages: the PDF's own
    label, else the page number)."""
    for i in range(len(pdf)):
        try:
            own = pdf.get_page_label(i)
        except Exception:  # noqa: BLE001 - broken label trees: page numbers, as pdf_text does
            own = ""
        if (own or str(i + 1)) == label:
            return i
    return None


def _find(textpage, words: list[str], from_end: bool) -> tuple[int, int] | None:
    """(first char, end char) on the page of the quote's first (or last) few words. A word
    broken at a line end ("ge-⏎bruiken") is not found as written, so the window moves inwards
    a few words at a time and the skipped words' length is added back (the mark then ends
    within a few characters of the quote's end)."""
    for skip in range(0, min(6, max(len(words) - 1, 1))):
        rest = words[len(words) - skip:] if from_end and skip else words[:skip]
        inner = words[: len(words) - skip] if from_end else words[skip:]
        for n in _PROBE_WORDS:
            if len(inner) < n and n != _PROBE_WORDS[-1]:
                continue
            probe = " ".join(inner[-n:] if from_end else inner[:n])
            found = textpage.search(probe, match_case=False).get_next() if probe else None
            if found:
                first, count = found
                extra = len(" ".join(rest)) + (1 if rest else 0)
                return (first, first + count + extra) if from_end else (max(0, first - extra),
                                                                       first + count)
    return None


def quote_rects(textpage, quote: str) -> list[tuple[float, float, float, float]]:
    """PDF-space rectangles (left, bottom, right, top) covering the quote on this page; empty
    when its words are not found there."""
    words = quote.split()
    start = _find(textpage, words, from_end=False)
    if start is None:
        return []
    end = _find(textpage, words, from_end=True)
    first = start[0]
    last = min(end[1] if end is not None and end[0] >= first else start[1], textpage.count_chars())
    count = textpage.count_rects(first, last - first)
    return [textpage.get_rect(i) for i in range(count)]


def render_quote(pdf_path: Path, label: str, quote: str, out_dir: Path) -> Path | None:
    """The page `label` of the PDF as PNG with `quote` marked; None when the page does not
    exist. Written once: the file name holds the PDF's content hash, the page and the quote."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    key = hashlib.sha256(f"{label}\0{quote}".encode()).hexdigest()[:16]
    out = out_dir / f"{pdf_path.stem}-{key}.png"
    if out.is_file():
        return out
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        index = page_index(pdf, label)
        if index is None:
            return None
        page = pdf[index]
        image = page.render(scale=SCALE).to_pil().convert("RGBA")
        rects = quote_rects(page.get_textpage(), quote)
        height = page.get_height()
    finally:
        pdf.close()
    if rects:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for left, bottom, right, top in rects:  # PDF space: origin bottom left, in points
            draw.rectangle([left * SCALE - 1, (height - top) * SCALE - 1,
                            right * SCALE + 1, (height - bottom) * SCALE + 1], fill=HIGHLIGHT)
        image = Image.alpha_composite(image, overlay)
    else:
        log.info("quote not found on page %s of %s; page shown without a mark", label, pdf_path.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".part")
    image.convert("RGB").save(partial, format="PNG", optimize=True)
    partial.replace(out)
    return out
