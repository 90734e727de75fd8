"""Turn files into `SourceDocument`s: text, title, date, language and a content hash.

Every failure is a `RejectedFile` whose message names the file and says what is wrong, so one bad
file never stops the others of an ingest run.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from vectorstore.documents import SourceDocument
from vectorstore.language import detect_language

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_ISO_DATE = re.compile(r"\b((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_HEADING_ATTRS = re.compile(r"\s*\{#[^}]*\}\s*$")
_HEX_LIKE = re.compile(r"^[\W_]*[0-9a-f_\-]{8,}[\W_]*$", re.I)
_LEADING_DATE = re.compile(
    r"^\s*(?:date|datum|le)?\s*[:•·\-–]?\s*(?:19|20)\d{2}-\d{2}-\d{2}\s*[•·\-–|]?\s*", re.I
)
_TITLE_MAX = 100


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
        text, meta = parser(data)
    except RejectedFile as exc:
        raise RejectedFile(name, exc.reason) from exc
    except Exception as exc:  # a corrupt file of a supported type: say which and why
        kind = suffix.lstrip(".").upper()
        raise RejectedFile(name, f"could not read {kind} file, it looks corrupt ({exc})") from exc
    text = _clean_text(text)
    if not text.strip():
        raise RejectedFile(name, "no text found in the file")
    title = _pick_title(meta.get("title"), text, name)
    date = _normalise_date(meta.get("date")) or _find_date(text)
    return SourceDocument(
        source_id=name,
        title=title,
        text=text,
        language=detect_language(text),
        doc_hash=text_hash(text),
        format=suffix.lstrip("."),
        date=date,
        description=_as_text(meta.get("description")),
        path=path,
    )


# --- text decoding ---------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """Decode bytes as text; binary content is refused rather than turned into mojibake."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RejectedFile("", "binary content, not a text file")
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        raise RejectedFile("", "not valid UTF-8 and no other text encoding fits; binary?")
    return str(best)


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # control characters other than tab/newline come from broken extractions, never from prose
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)


# --- parsers: bytes -> (text, metadata) -----------------------------------------------------


def _parse_txt(data: bytes) -> tuple[str, dict]:
    """Plain text; YAML front matter is honoured too, since notes are often saved as .txt."""
    return _split_front_matter(decode_text(data))


def _parse_markdown(data: bytes) -> tuple[str, dict]:
    text, meta = _split_front_matter(decode_text(data))
    if not meta.get("title"):
        heading = _MD_HEADING.search(text)
        if heading:
            meta["title"] = _HEADING_ATTRS.sub("", heading.group(1))
    return text, meta


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


def _parse_pdf(data: bytes) -> tuple[str, dict]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as exc:
            raise RejectedFile("", "PDF is password-protected") from exc
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise RejectedFile(
            "", "PDF has no text layer (scanned images?); OCR is not supported, export it as text"
        )
    meta = {}
    info = reader.metadata
    if info is not None and info.title:
        meta["title"] = str(info.title)
    return text, meta


def _parse_html(data: bytes) -> tuple[str, dict]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    meta: dict = {}
    h1 = soup.find("h1")
    if soup.title and soup.title.get_text(strip=True):
        meta["title"] = soup.title.get_text(" ", strip=True)
    elif h1:
        meta["title"] = h1.get_text(" ", strip=True)
    for name in ("date", "article:published_time", "dc.date"):
        tag = soup.find("meta", attrs={"name": name}) or soup.find(
            "meta", attrs={"property": name}
        )
        if tag and tag.get("content"):
            meta["date"] = tag["content"]
            break
    for tag in soup(["script", "style", "noscript", "template", "svg", "nav", "footer", "aside"]):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    for line in root.get_text("\n").split("\n"):
        line = " ".join(line.split())
        if line:
            blocks.append(line)
    return "\n\n".join(blocks), meta


def _parse_docx(data: bytes) -> tuple[str, dict]:
    import docx

    document = docx.Document(io.BytesIO(data))
    meta: dict = {}
    paragraphs = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        if "title" not in meta and para.style is not None and (
            para.style.name.lower().startswith(("title", "heading"))
        ):
            meta["title"] = text
        paragraphs.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paragraphs.append(" | ".join(cells))
    props = document.core_properties
    if props.title:
        meta["title"] = props.title
    if props.created:
        meta["date"] = props.created.date().isoformat()
    return "\n\n".join(paragraphs), meta


_PARSERS: dict[str, Callable[[bytes], tuple[str, dict]]] = {
    ".txt": _parse_txt,
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".pdf": _parse_pdf,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".docx": _parse_docx,
}


# --- title and date ---------------------------------------------------------------------------


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _is_good_title(candidate: str | None) -> bool:
    if not candidate:
        return False
    return not _HEX_LIKE.match(candidate) and any(ch.isalpha() for ch in candidate)


def _shorten(line: str) -> str:
    """First sentence of a line, cut at a word boundary so a run-on paragraph reads as a title."""
    sentence = re.split(r"(?<=[.!?])\s+", line, maxsplit=1)[0]
    if len(sentence) <= _TITLE_MAX:
        return sentence.rstrip(".")
    cut = sentence[:_TITLE_MAX].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _pick_title(explicit: object, text: str, name: str) -> str:
    """Front matter / document title, else the first substantial line of the text.

    Lines of one or two words ("Nieuws", a byline) and lines that are only a date or a credit are
    labels rather than titles, so the first line with three or more words wins.
    """
    explicit_text = _as_text(explicit)
    if _is_good_title(explicit_text):
        return _shorten(explicit_text)  # type: ignore[arg-type]
    fallback = None
    for raw in text.split("\n"):
        line = _LEADING_DATE.sub("", " ".join(raw.split())).lstrip("#").strip()
        if not _is_good_title(line) or line.startswith(("©", "http")):
            continue
        if len(line.split()) >= 3:
            return _shorten(line)
        fallback = fallback or line
    if fallback:
        return _shorten(fallback)
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
