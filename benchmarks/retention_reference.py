"""The reference text of the retention benchmark (`benchmarks.retention`): what a recall-oriented
reader sees in a page — everything visible in HTML's `<body>` minus script and style,
pdftotext's text of a PDF, every paragraph, footnote and endnote of a DOCX — as sentences, each
marked with the furniture rule that would excuse dropping it (see `benchmarks.retention`).
Written without Kenbron's readers, so that what they drop is measured against something they
did not decide."""

from __future__ import annotations

import re
import subprocess
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Sentence:
    """One reference sentence: its text, the page it is on and why it would be furniture."""

    text: str
    page: str
    furniture: str | None = None

    @property
    def key(self) -> str:
        return match_key(self.text)


# letters NFKD does not decompose, as the ASCII a reader may write for them
ASCII_LETTERS = str.maketrans({"ı": "i", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l"})
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'“«(\[]?[A-ZÀ-Ý0-9])")


def match_key(text: str) -> str:
    """Letters and digits only, case and accents folded: what "the same words" means here."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(ASCII_LETTERS))
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


def split_sentences(block: str) -> list[str]:
    block = " ".join(block.split())
    return [s for s in _SENTENCE_BREAK.split(block) if match_key(s)]


_BLOCKS = {"address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
           "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
           "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
           "section", "summary", "table", "td", "th", "tr", "ul", "option", "button", "label"}
_CONTROLS = {"button", "select", "option", "label", "textarea", "input"}


def html_reference(path: Path) -> list[Sentence]:
    """The visible text of `<body>`, block by block, with each block's share of link text."""
    from bs4 import BeautifulSoup, Comment, NavigableString

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    body = soup.body or soup
    for tag in body.find_all(["script", "style", "noscript", "template"]):
        tag.decompose()
    for comment in body.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    sentences: list[Sentence] = []
    text, linked, reason, element = [], 0, None, body

    def close() -> None:
        nonlocal text, linked, reason
        block = "".join(text)
        letters = len(match_key(block))
        # a link list's own label ("Table of Contents" above the list) is part of the list
        label = len(block.split()) <= 5 and element.parent is not None \
            and _link_share(element.parent) >= 0.6
        why = reason or ("links" if letters and linked >= 0.6 * letters or label else None)
        sentences.extend(Sentence(s, path.name, why) for s in split_sentences(block))
        text, linked, reason = [], 0, None

    for node in body.descendants:
        if not isinstance(node, NavigableString):
            if node.name in _BLOCKS:
                close()
                element = node
            continue
        parents = [p for p in node.parents if p is not None]
        text.append(str(node))
        if any(p.name == "a" for p in parents):
            linked += len(match_key(str(node)))
        if any(p.name in _CONTROLS for p in parents):
            reason = reason or "control"
        if any(p.name == "svg" for p in parents):
            reason = reason or "drawing"  # a diagram's labels
        if any(p.get("hidden") is not None or p.get("aria-hidden") == "true"
               or "display:none" in str(p.get("style") or "").replace(" ", "") for p in parents):
            reason = reason or "hidden"
    close()
    return sentences


def _link_share(tag) -> float:
    letters = len(match_key(tag.get_text()))
    return sum(len(match_key(a.get_text())) for a in tag.find_all("a")) / letters if letters else 0


_CONTENTS_LINE = re.compile(r"(?:\.\s?){4,}|\s\d{1,4}$|^\d{1,4}$")


def pdf_reference(path: Path) -> list[Sentence]:
    """pdftotext's text page by page; a page's paragraphs (blank-line separated) joined, a
    hyphen at a line end before a lower-case letter taken out, then split into sentences."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True).stdout.decode("utf-8", "replace")
    pages = out.split("\f")
    ends: Counter[str] = Counter()
    for page in pages:
        lines = [ln.strip() for ln in page.split("\n") if ln.strip()]
        for line in {*lines[:3], *lines[-3:]}:
            ends[_furniture_key(line)] += 1
    sentences: list[Sentence] = []
    for number, page in enumerate(pages, start=1):
        filled = [ln.strip() for ln in page.split("\n") if ln.strip()]
        # a contents page (or a list of figures): most lines end in, or are, a page number
        contents = sum(bool(_CONTENTS_LINE.search(ln)) for ln in filled) >= max(5, len(filled) / 2)
        edge = {*filled[:3], *filled[-3:]}
        label = f"{path.name} p.{number}"
        for paragraph in re.split(r"\n\s*\n", page):
            plines = [ln.strip() for ln in paragraph.split("\n") if ln.strip()]
            furniture = [ln for ln in plines if _pdf_furniture(ln, ln in edge, ends)]
            plines = [ln for ln in plines if ln not in furniture]
            for line in furniture:
                why = "page number" if _PAGE_NUMBER.fullmatch(line) else "repeated"
                sentences.append(Sentence(line, label, why))
            joined = ""
            for line in plines:
                if joined.endswith("-") and line[:1].islower():
                    joined = joined[:-1] + line
                else:
                    joined = f"{joined} {line}" if joined else line
            sentences.extend(Sentence(s, label, "contents" if contents else _glyphs(s))
                             for s in split_sentences(joined))
    return sentences


def _glyphs(sentence: str) -> str | None:
    """Music or math set in a symbol font reads as runs of one- and two-letter "words"."""
    tokens = sentence.split()
    short = sum(len(t) <= 2 and not t.isdigit() for t in tokens)
    return "glyphs" if len(tokens) >= 3 and short >= 0.6 * len(tokens) else None


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


_PAGE_NUMBER = re.compile(r"[-–— ]*(?:\d{1,4}(?: ?/ ?\d{1,4})?|[ivxlcIVXLC]{1,6})[-–— ]*")
# a running header: a short line that starts or ends with a page number
_RUNNING_HEADER = re.compile(r"^\d{1,4}\s+\S(?:\S*\s+){0,11}\S*$|^(?:\S+\s+){0,11}\S*?\d{1,4}$")


def _pdf_furniture(line: str, at_edge: bool, ends: Counter[str]) -> bool:
    if _PAGE_NUMBER.fullmatch(line):
        return True
    return at_edge and (ends[_furniture_key(line)] >= 3 or bool(_RUNNING_HEADER.match(line)))


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_reference(path: Path) -> list[Sentence]:
    """Every paragraph of the body (tables and text boxes included), the footnotes and the
    endnotes; a paragraph in a TOC style is contents."""
    from xml.etree import ElementTree

    sentences: list[Sentence] = []
    with zipfile.ZipFile(path) as archive:
        for part in ("word/document.xml", "word/footnotes.xml", "word/endnotes.xml"):
            if part not in archive.namelist():
                continue
            root = ElementTree.fromstring(archive.read(part))
            for paragraph in root.iter(f"{_W}p"):
                if paragraph.find(f".//{_W}p") is not None:
                    continue  # a text box's host paragraph: its own paragraphs are counted
                text = "".join(t.text or "" if t.tag == f"{_W}t" else " "
                               for t in paragraph.iter() if t.tag in (f"{_W}t", f"{_W}tab"))
                style = paragraph.find(f"{_W}pPr/{_W}pStyle")
                name = (style.get(f"{_W}val") or "") if style is not None else ""
                why = "contents" if name.lower().startswith(("toc", "contents")) else None
                sentences.extend(Sentence(s, path.name, why) for s in split_sentences(text))
    return sentences
