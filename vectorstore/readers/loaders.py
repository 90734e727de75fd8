"""Turn files into `SourceDocument`s: text with its headings and pages, title, date, language and
a content hash. Each format's reading lives in its own module (`html_text`, `pdf_text`,
`markdown_text`); this one picks the parser, checks the file and fills in what every format needs.

Every failure is a `RejectedFile` whose message names the file and says what is wrong, so one bad
file never stops the others of an ingest run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from vectorstore.defaults import DEFAULT_MAX_BYTES
from vectorstore.documents import Heading, SourceDocument
from vectorstore.language import detect_language
from vectorstore.readers.docx_text import parse_docx
from vectorstore.readers.html_text import parse_html
from vectorstore.readers.markdown_text import parse_markdown
from vectorstore.readers.pdf_text import NoTextLayer, parse_pdf
from vectorstore.readers.structured_text import ParsedText

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx")

_ISO_DATE = re.compile(r"\b((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_HEX_LIKE = re.compile(r"^[\W_]*[0-9a-f_\-]{8,}[\W_]*$", re.I)
_LEADING_DATE = re.compile(
    r"^\s*(?:date|datum|le)?\s*[:•·\-–]?\s*(?:19|20)\d{2}-\d{2}-\d{2}\s*[•·\-–|]?\s*", re.I
)
_NOT_A_TITLE = re.compile(
    r"^(?:about:|https?://|file:|untitled\b|microsoft \w+ - )|\.(?:pdf|docx?|odt|tex|dvi|html?|txt)$",
    re.I)
# a first sentence longer than this is a paragraph's opening, not something to call a document by
_TITLE_MAX = 200


class RejectedFile(Exception):
    """A file that cannot be ingested; the message is shown to the user as is."""

    def __init__(self, path: Path | str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(path).name}: {reason}")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, source_id: str | None = None) -> SourceDocument:
    """Load one file (its source id defaults to the file name); raise `RejectedFile` with a
    specific reason when it cannot be used."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{suffix}'" if suffix else "files without an extension"
        raise RejectedFile(
            path, f"unsupported file type {kind} (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise RejectedFile(
                path, f"file is {size / 1e6:.1f} MB, over the limit of {max_bytes / 1e6:.1f} MB"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise RejectedFile(path, f"cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise RejectedFile(path, "file is empty")
    return load_bytes(source_id or path.name, data, path=str(path))


def load_bytes(name: str, data: bytes, path: str | None = None) -> SourceDocument:
    """Parse file content already in memory (uploads use this too); `name` is the source id."""
    suffix = Path(name).suffix.lower()
    parser = _PARSERS.get(suffix)
    if parser is None:
        raise RejectedFile(name, f"unsupported file type '{suffix}'")
    try:
        parsed = parser(data)
    except RejectedFile as exc:
        raise RejectedFile(name, exc.reason) from exc
    except NoTextLayer as exc:
        raise RejectedFile(name, "PDF has no text layer (scanned images?) and no OCR engine is "
                                 "installed: install Tesseract (Debian: apt-get install "
                                 "tesseract-ocr tesseract-ocr-nld tesseract-ocr-fra) or export "
                                 "the PDF with its text") from exc
    except Exception as exc:  # a corrupt file of a supported type: say which and why
        kind = suffix.lstrip(".").upper()
        raise RejectedFile(name, f"could not read {kind} file, it looks corrupt ({exc})") from exc
    text = parsed.text
    if not text.strip():
        raise RejectedFile(name, "no text found in the file")
    return SourceDocument(
        source_id=name,
        title=_pick_title(parsed.title, text, name, parsed.headings),
        text=text,
        language=detect_language(text),
        doc_hash=text_hash(text),
        format=suffix.lstrip("."),
        date=_normalise_date(parsed.date) or _find_date(text),
        description=_as_text(parsed.description),
        path=path,
        headings=parsed.headings,
        pages=parsed.pages,
    )


# --- text decoding ---------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """Decode bytes as text; binary content is refused rather than turned into mojibake.
    Line ends become `\n` and control characters that never belong to prose are dropped."""
    head = data[:8192]
    # a binary file is full of NUL bytes; a text file may hold a stray one (javadoc prints the
    # NUL character a constant documents), which is dropped below with the other controls
    if head.count(b"\x00") > len(head) // 100 and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RejectedFile("", "binary content, not a text file")
    text = None
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            pass
    if text is None:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None or best.chaos > 0.2:
            raise RejectedFile("", "not valid UTF-8 and no other text encoding fits; binary?")
        text = str(best)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)


# --- parsers: bytes -> ParsedText -----------------------------------------------------------


def _parse_txt(data: bytes) -> ParsedText:
    """Plain text as written (its line breaks may be meant); YAML front matter is honoured too,
    since notes are often saved as .txt."""
    text, meta = _split_front_matter(decode_text(data))
    return _with_meta(ParsedText(text=text), meta)


def _parse_markdown(data: bytes) -> ParsedText:
    text, meta = _split_front_matter(decode_text(data))
    return _with_meta(parse_markdown(text), meta)


def _with_meta(parsed: ParsedText, meta: dict) -> ParsedText:
    parsed.title = _as_text(meta.get("title")) or parsed.title
    parsed.date = meta.get("date") or parsed.date
    parsed.description = _as_text(meta.get("description")) or parsed.description
    return parsed


def _split_front_matter(text: str) -> tuple[str, dict]:
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            loaded = None
        if isinstance(loaded, dict):
            meta = loaded
            text = text[match.end() :]
    return text, meta


def _parse_html(data: bytes) -> ParsedText:
    return parse_html(decode_text(data))


_PARSERS: dict[str, Callable[[bytes], ParsedText]] = {
    ".txt": _parse_txt,
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".pdf": parse_pdf,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".docx": parse_docx,
}


# --- title and date ---------------------------------------------------------------------------


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _is_good_title(candidate: str | None) -> bool:
    """Not a hash, a URL or a file name (what PDF writers put in the title field by default:
    "about:blank", "report.docx", "Microsoft Word - draft3.doc")."""
    if not candidate:
        return False
    return not (_HEX_LIKE.match(candidate) or _NOT_A_TITLE.search(candidate)) and any(
        ch.isalpha() for ch in candidate)


def _first_sentence(line: str) -> str:
    """The first sentence of a line, whole, without its full stop."""
    # a section number ("3.12. Cloning") is not the end of a sentence
    return re.split(r"(?<=[^\d\s][.!?])\s+|(?<=[!?])\s+", line, maxsplit=1)[0].rstrip(".")


def _pick_title(explicit: object, text: str, name: str, headings: Sequence[Heading] = ()) -> str:
    """The document's own title (front matter, HTML `<title>`, PDF or DOCX properties), else
    its first heading, else the first sentence of its first substantial line, else its file
    name. Never a sentence cut short: a title that stops mid-sentence reads as a broken title
    (a news text without a headline was listed by its first 100 characters and "…").

    Lines of one or two words ("Nieuws", a byline) and lines that are only a date or a credit are
    labels rather than titles, so the first line with three or more words counts; when its first
    sentence is longer than a title can be (`_TITLE_MAX`), the file name is the title.
    """
    explicit_text = _as_text(explicit)
    if _is_good_title(explicit_text):
        return _first_sentence(explicit_text)  # type: ignore[arg-type]
    heading = next((h.title for h in headings if _is_good_title(_as_text(h.title))), None)
    if heading:
        return _as_text(heading)  # type: ignore[return-value]
    fallback = None
    for raw in text.split("\n"):
        line = _LEADING_DATE.sub("", " ".join(raw.split())).lstrip("#").strip()
        if not _is_good_title(line) or line.startswith(("©", "http")):
            continue
        if len(line.split()) >= 3:
            sentence = _first_sentence(line)
            if len(sentence) <= _TITLE_MAX:
                return sentence
            fallback = None  # a label above a paragraph ("Nieuws") does not name the text
            break
        fallback = fallback or line
    if fallback:
        return _first_sentence(fallback)
    stem = Path(name).stem
    return stem if _is_good_title(stem) else name


def _normalise_date(value: object) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    match = _ISO_DATE.search(str(value))
    return match.group(0) if match else None


def _find_date(text: str) -> str | None:
    """A date the document states near its top (a dateline such as `date 2026-01-21`)."""
    match = _ISO_DATE.search(text[:600])
    return match.group(0) if match else None
