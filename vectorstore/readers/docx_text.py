"""Word (DOCX) to text as a reader sees the document: headings, paragraphs, lists and tables in
order, with what Word keeps outside the body's paragraphs put where the reader meets it.

python-docx's `Paragraph.text` reads only a paragraph's plain runs and links, and its body
iteration only top-level paragraphs and tables: text in a content control (`w:sdt`: templates,
cover pages), a tracked insertion (`w:ins`), a field, or a text box was lost, and footnotes and
endnotes are in parts of their own. So the body is walked here on the XML, a paragraph's text
is every `w:t` it holds outside text boxes, and each paragraph is followed by the text boxes it
anchors and the notes it references ("[1] …", numbered as Word numbers them).
"""

from __future__ import annotations

import io
import re
import zipfile

from vectorstore.readers.structured_text import CELL_SEPARATOR, ParsedText, TextBuilder

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_HEADING = re.compile(r"^heading\s*(\d)?")
# a hyperlink relationship without TargetMode: LibreOffice writes links within the document so
# (Target="#anchor"), and python-docx then looks for a part of that name and fails to open it
_INTERNAL_HYPERLINK = re.compile(
    rb'(<Relationship\b(?=[^>]*relationships/hyperlink")(?![^>]*TargetMode)[^>]*?)(\s*/>)')


def parse_docx(data: bytes) -> ParsedText:
    import docx

    data = _external_hyperlinks(data)
    document = docx.Document(io.BytesIO(data))
    reader = _Reader(document, _notes(data))
    reader.body(document.element.body)
    props = document.core_properties
    headings = reader.builder.headings
    parsed = reader.builder.build(title=props.title or reader.title
                                  or (headings[0].title if headings else None))
    parsed.date = props.created.date().isoformat() if props.created else None
    return parsed


class _Reader:
    """Writes the body's blocks into a `TextBuilder`, notes and text boxes after their anchor."""

    def __init__(self, document, notes: dict[str, dict[str, str]]) -> None:
        self.document, self.notes = document, notes
        self.builder = TextBuilder()
        self.title: str | None = None
        self.numbers = {"footnote": 0, "endnote": 0}

    def body(self, element) -> None:
        for child in element:
            if child.tag == f"{_W}p":
                self.paragraph(child)
            elif child.tag == f"{_W}tbl":
                self.table(child)
            elif child.tag == f"{_W}sdt":  # a content control: its content is the document's
                content = child.find(f"{_W}sdtContent")
                if content is not None:
                    self.body(content)

    def paragraph(self, p) -> None:
        from docx.text.paragraph import Paragraph

        item = Paragraph(p, self.document)
        text = paragraph_text(p).strip()
        style = (item.style.name if item.style is not None else "").lower()
        if style.startswith("toc"):  # Word's table of contents: the headings say it
            return
        level = _HEADING.match(style)
        if text and style == "title":  # above every "Heading N"
            self.title = self.title or text
            self.builder.heading(0, text)
        elif text and level:
            self.builder.heading(int(level.group(1) or 1), text)
        elif text and (style.startswith("list") or p.pPr is not None and p.pPr.numPr is not None):
            self.builder.block(f"- {text}")
        elif text:
            self.builder.block(text)
        for box in p.iter(f"{_W}txbxContent"):
            if not any(a.tag == _MC_FALLBACK for a in box.iterancestors()):
                self.body(box)  # the same box is written twice, for new and old readers
        for kind in ("footnote", "endnote"):
            for reference in p.iter(f"{_W}{kind}Reference"):
                note = self.notes[kind].get(reference.get(f"{_W}id") or "")
                if note:
                    self.numbers[kind] += 1
                    self.builder.block(f"[{self.numbers[kind]}] {note}")

    def table(self, tbl) -> None:
        rows = []
        for tr in tbl.iter(f"{_W}tr"):
            if next(tr.iterancestors(f"{_W}tbl")) is not tbl:
                continue  # a nested table's row: its cell's text has it
            rows.append(_row(tr))
        self.builder.lines("\n".join(row for row in rows if row))


def paragraph_text(p) -> str:
    """Every `w:t` of the paragraph (tracked insertions, fields and inline content controls
    included; deleted text is `w:delText`), tabs as tabs, outside its text boxes."""
    parts = []
    for node in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen"):
        if _in_text_box(node, p):
            continue
        if node.tag == f"{_W}t":
            parts.append(node.text or "")
        elif node.tag == f"{_W}noBreakHyphen":
            parts.append("-")
        elif node.tag == f"{_W}tab" and node.getparent().tag == f"{_W}r":
            parts.append("\t")  # (a `w:tab` in paragraph properties is a tab stop)
        elif node.tag != f"{_W}tab":
            parts.append("\n")
    return "".join(parts)


def _in_text_box(node, p) -> bool:
    """The node lies in a text box anchored in paragraph `p` (not `p`'s own text)."""
    for ancestor in node.iterancestors():
        if ancestor is p:
            return False
        if ancestor.tag == f"{_W}txbxContent":
            return True
    return False


def _row(tr) -> str:
    """A table row's cells; a merged cell (one `w:tc` spanning columns) is written once."""
    cells = []
    for tc in tr.findall(f"{_W}tc"):
        text = " ".join(paragraph_text(p).strip() for p in tc.iter(f"{_W}p")).strip()
        if text:
            cells.append(" ".join(text.split()))
    return CELL_SEPARATOR.join(cells)


def _notes(data: bytes) -> dict[str, dict[str, str]]:
    """Footnote and endnote texts by id; Word's separator notes have no text."""
    from lxml import etree

    notes: dict[str, dict[str, str]] = {"footnote": {}, "endnote": {}}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for kind in notes:
            name = f"word/{kind}s.xml"
            if name not in archive.namelist():
                continue
            root = etree.fromstring(archive.read(name))
            for note in root.iter(f"{_W}{kind}"):
                text = " ".join(" ".join(paragraph_text(p).split()) for p in note.iter(f"{_W}p"))
                if text.strip():
                    notes[kind][note.get(f"{_W}id")] = text.strip()
    return notes


def _external_hyperlinks(data: bytes) -> bytes:
    """The DOCX package with every hyperlink relationship marked external (see above)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rels = {name: archive.read(name) for name in archive.namelist() if name.endswith(".rels")}
        if not any(_INTERNAL_HYPERLINK.search(xml) for xml in rels.values()):
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as fixed:
            for item in archive.infolist():
                content = rels.get(item.filename) or archive.read(item.filename)
                if item.filename in rels:
                    content = _INTERNAL_HYPERLINK.sub(rb'\1 TargetMode="External"\2', content)
                fixed.writestr(item, content)
    return out.getvalue()
