"""Text of a scanned PDF by OCR, with Tesseract when it is installed.

Tesseract is optional (Debian: `tesseract-ocr` with `tesseract-ocr-nld` and `tesseract-ocr-fra`);
without it a scanned PDF is refused with a message that says how to get it read. Each page is
rendered by PDFium at 300 dpi and read with every installed language of the corpus's three
(English, Dutch, French); Tesseract's paragraphs become blocks, lines are joined and words
hyphenated at a line end are joined again. Nothing is downloaded: the language data comes from
the Debian packages.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from vectorstore.readers.structured_text import ParsedText, TextBuilder

log = logging.getLogger(__name__)

DPI = 300
PAGE_TIMEOUT_S = 120
_WANTED = ("eng", "nld", "fra")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])[-\u00ad\u2010]\n(?=[a-zà-ÿ])")


def available() -> bool:
    return shutil.which("tesseract") is not None


def languages() -> str:
    """The installed Tesseract languages among English, Dutch and French, as `eng+nld+fra`."""
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                            timeout=30).stdout.split()
    return "+".join(lang for lang in _WANTED if lang in listed) or "eng"


def ocr_pdf(pdf, labels: list[str]) -> ParsedText:
    """Read every page of an open `pypdfium2.PdfDocument` by OCR."""
    langs = languages()
    builder = TextBuilder()
    with tempfile.TemporaryDirectory(prefix="kenbron-ocr-") as tmp:
        for index in range(len(pdf)):
            image = Path(tmp) / f"page-{index}.png"
            page = pdf[index]
            try:
                page.render(scale=DPI / 72).to_pil().save(image)
            finally:
                page.close()
            result = subprocess.run(["tesseract", str(image), "stdout", "-l", langs],
                                    capture_output=True, text=True, timeout=PAGE_TIMEOUT_S)
            if result.returncode != 0:
                raise RuntimeError(f"OCR failed on page {index + 1}: {result.stderr.strip()}")
            log.info("OCR: page %d of %d", index + 1, len(pdf))
            for paragraph in re.split(r"\n\s*\n", result.stdout):
                builder.block(_HYPHEN_BREAK.sub("", paragraph.strip()), page=labels[index])
    return builder.build()
