"""Loaders for every supported format; bad bytes never crash them."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from vectorstore.readers.loaders import RejectedFile, load_bytes, load_file

CORPUS = REPO / "data" / "corpus"


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a real text layer, written by hand (no PDF library needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_bundled_corpus_titles_dates_languages():
    docs = {p.name: load_file(p) for p in sorted(CORPUS.iterdir())}
    assert docs["004_0febdfa09fc1bbea.txt"].title == "Risico's van kunstmatige intelligentie"
    assert docs["000_30c1c056688950f9.txt"].date == "2026-01-21"
    assert docs["002_d9776cacd590e3c1.txt"].date == "2025-10-08"
    assert docs["001_be6fdfb56eccf482.txt"].language == "fr"
    for doc in docs.values():  # titles whole: a headline, or a short first sentence
        assert doc.title and doc.title != doc.source_id and not doc.title.endswith("…")
        assert doc.title in (CORPUS / doc.source_id).read_text(encoding="utf-8")
        assert doc.language in ("nl", "fr")
        assert len(doc.doc_hash) == 64


LONG_OPENING = ("De gemeenteraad van Oosterwaal besprak gisteravond tot na middernacht het plan "
                "om de oude veerpont, die sinds 1962 elk half uur tussen de kade en het eiland "
                "vaart, te vervangen door een elektrische pont met plaats voor twaalf auto's en "
                "veertig fietsen. Het besluit valt in mei.")  # invented


@pytest.mark.parametrize(("name", "text", "title"), [
    ("veerpont-oosterwaal.txt", LONG_OPENING, "veerpont-oosterwaal"),  # too long: the file name
    ("verslag.txt", "Nieuws\n\n" + LONG_OPENING, "verslag"),  # a label above it is no title
    ("kort.txt", "De brug gaat in mei open. Daarna volgt de weg.", "De brug gaat in mei open"),
    ("notitie.md", "Vooraf een woord van dank.\n\n# Het nieuwe veer\n\nDe pont vaart.\n",
     "Het nieuwe veer"),  # the first heading before the first line
    ("3f2a9c41d0b7e655.txt", LONG_OPENING, "3f2a9c41d0b7e655.txt"),  # a hash stem is no title
])
def test_a_title_is_the_documents_own_never_a_cut_sentence(name, text, title):
    assert load_bytes(name, text.encode()).title == title


def test_markdown_front_matter():
    doc = load_bytes("note.md", b"---\ntitle: Het Plan\ndescription: kort\ndate: 2024-03-05\n---\n"
                                b"# Kop\n\nDe gemeente bouwt een nieuwe brug over de rivier.\n")
    assert (doc.title, doc.description, doc.date, doc.language) == ("Het Plan", "kort", "2024-03-05", "nl")
    assert "title:" not in doc.text


def test_markdown_heading_title_and_html_main_text():
    doc = load_bytes("x.md", b"# Le budget de la ville\n\nLa mairie a vote le budget hier soir.\n")
    assert doc.title == "Le budget de la ville"
    html = (b"<html><head><title>Nieuws</title><script>var x=1;</script></head><body>"
            b"<nav>menu menu</nav><article><h1>De nieuwe brug</h1><p>De gemeente bouwt een brug "
            b"over de rivier en opent die in mei.</p></article></body></html>")
    doc = load_bytes("page.html", html)
    assert "De gemeente bouwt een brug" in doc.text
    assert "var x" not in doc.text and "menu menu" not in doc.text


def test_pdf_and_docx():
    doc = load_bytes("r.pdf", minimal_pdf("The council approved the new bridge in May 2024."))
    assert "council approved the new bridge" in doc.text
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_heading("Rapport annuel", 1)
    d.add_paragraph("La commission a examine les comptes de la fondation cette annee.")
    buf = io.BytesIO()
    d.save(buf)
    doc = load_bytes("r.docx", buf.getvalue())
    assert doc.title == "Rapport annuel" and doc.language == "fr"


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("a.txt", b"", "no text"),
    ("a.txt", b"\x00\x01\x02\x03" * 100, "binary"),
    ("a.pdf", b"%PDF-1.4 garbage", "PDF"),
    ("a.pdf", minimal_pdf(""), "no text"),
    ("a.docx", b"PK\x03\x04 not a zip", "DOCX"),
    ("a.exe", b"MZ", "unsupported"),
])
def test_bad_files_are_rejected_with_a_reason(name, data, reason):
    with pytest.raises(RejectedFile) as err:
        load_bytes(name, data)
    assert reason.lower() in err.value.reason.lower()
    assert name in str(err.value)


def test_oversized_file_is_rejected(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("woord " * 1000, encoding="utf-8")
    with pytest.raises(RejectedFile, match="over the limit"):
        load_file(big, max_bytes=1000)


def test_non_utf8_text_is_decoded():
    doc = load_bytes("latin.txt", "Le café de la gare ouvre à sept heures du matin.".encode("latin-1"))
    assert "café" in doc.text


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([".txt", ".md", ".html", ".pdf", ".docx"]), st.binary(max_size=2000))
def test_random_bytes_never_crash_loaders(suffix, data):
    try:
        doc = load_bytes("f" + suffix, data)
    except RejectedFile as exc:
        assert exc.reason
    else:
        assert doc.text.strip()


def test_markdown_structure_code_lists_tables_and_wrapped_lines():
    text = (b"# Installatie\n\nDe installatie duurt een paar minuten en\nvraagt geen netwerk.\n\n"
            b"## Stappen\n\n- Pak het archief uit in\n  een lege map.\n- Start `kenbron serve`.\n\n"
            b"```bash\nkenbron ingest docs/\nkenbron serve --port 8080\n```\n\n"
            b"| optie | betekenis |\n|---|---|\n| --port | de poort |\n\n"
            b"Tot slot\n--------\n\nKlaar.\n")
    doc = load_bytes("install.md", text)
    assert doc.title == "Installatie"
    assert [(h.level, h.title) for h in doc.headings] == [
        (1, "Installatie"), (2, "Stappen"), (2, "Tot slot")]
    paragraphs = doc.text.split("\n\n")
    assert "De installatie duurt een paar minuten en vraagt geen netwerk." in paragraphs
    assert "- Pak het archief uit in een lege map." in paragraphs  # a wrapped list item is one
    assert "kenbron ingest docs/\nkenbron serve --port 8080" in paragraphs  # code keeps its lines
    assert "| --port | de poort |" in doc.text and "|---|" not in doc.text
    start = doc.text.index("Klaar.")
    assert doc.section_at(start) == "Installatie › Tot slot"


def test_docx_headings_lists_and_tables_in_document_order():
    docx = pytest.importorskip("docx")
    from docx.enum.style import WD_STYLE_TYPE

    d = docx.Document()
    d.add_heading("Onderhoudsplan", 0)
    d.add_heading("Pompen", 1)
    d.add_paragraph("Elke pomp wordt twee keer per jaar nagekeken.")
    d.add_paragraph("Olie verversen", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("pomp", "interval"), ("P1", "6 maanden")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    merged = d.add_table(rows=2, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 2)).text = "Jaarplanning"
    for cell, value in zip(merged.rows[1].cells, ("Q1", "Q2", "Q3"), strict=True):
        cell.text = value
    d.add_heading("Kleppen", 1)
    d.add_paragraph("Kleppen worden jaarlijks vervangen.")
    # Word's table of contents: entries in "TOC N" styles, which repeat the headings
    d.styles.add_style("TOC 1", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("Inhoud", style="TOC Heading")
    d.add_paragraph("Pompen\t1", style="TOC 1")
    buf = io.BytesIO()
    d.save(buf)
    doc = load_bytes("plan.docx", buf.getvalue())
    assert doc.title == "Onderhoudsplan"
    lines = doc.text.splitlines()  # a merged cell once, not once per grid column it spans
    assert lines[lines.index("Jaarplanning") + 1] == "Q1 | Q2 | Q3"
    assert "Inhoud" not in doc.text and "Pompen\t1" not in doc.text
    assert doc.text.index("- Olie verversen") < doc.text.index("P1 | 6 maanden") < doc.text.index(
        "Kleppen worden")
    assert doc.section_at(doc.text.index("Kleppen worden")) == "Onderhoudsplan › Kleppen"


NOTES_MARKDOWN = """# Onderhoud van de server

De back-up draait elke nacht om twee uur.[^1] Controleer daarna het logboek.

## Herstel

Een herstel begint met het commando `restore --latest`.[^2]

[^1]: Op zaterdag draait hij pas om vier uur, na het onderhoudsvenster.
[^2]: Gebruik eerst de proefmodus om te zien wat er teruggezet wordt.
"""


@pytest.mark.parametrize("writer", ["pandoc", "libreoffice"])
def test_docx_footnotes_follow_the_paragraph_that_cites_them(tmp_path, writer):
    """Word keeps footnotes in a part of their own, which python-docx does not read: a
    document's notes (often its caveats and exceptions) were lost. DOCX as pandoc and LibreOffice
    write it."""
    import shutil
    import subprocess

    tools = {"pandoc": ["pandoc"], "libreoffice": ["pandoc", "soffice"]}[writer]
    if any(shutil.which(tool) is None for tool in tools):
        pytest.skip(f"{writer} is not installed (scripts/test installs it)")
    source = tmp_path / "notes.md"
    source.write_text(NOTES_MARKDOWN)
    target = tmp_path / "notes.docx"
    if writer == "pandoc":
        subprocess.run(["pandoc", str(source), "-o", str(target)], check=True)
    else:  # pandoc writes OpenDocument, LibreOffice turns it into Word's format
        subprocess.run(["pandoc", str(source), "-o", str(tmp_path / "notes.odt")], check=True)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile",
                        "--headless", "--convert-to", "docx:MS Word 2007 XML", "--outdir",
                        str(tmp_path / "out"), str(tmp_path / "notes.odt")], check=True,
                       capture_output=True, timeout=300)
        target = tmp_path / "out" / "notes.docx"
    doc = load_file(target)
    text = doc.text
    first = text.index("[1] Op zaterdag draait hij pas om vier uur")
    assert text.index("twee uur.") < first < text.index("Herstel")
    assert text.index("restore --latest") < text.index("[2] Gebruik eerst de proefmodus")


def test_docx_text_in_content_controls_text_boxes_and_tracked_insertions():
    """Text python-docx's `Paragraph.text` and body iteration skip: a content control around
    paragraphs (templates, cover pages), a tracked insertion, a text box (written once, though
    Word stores it twice for old and new readers); deleted text stays out."""
    docx = pytest.importorskip("docx")
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    d = docx.Document()
    d.add_paragraph("Inleiding van het rapport.")
    body = d.element.body
    sectpr = body[-1]
    sectpr.addprevious(parse_xml(
        f'<w:sdt {w}><w:sdtContent><w:p><w:r><w:t>De pomp staat in kelder B.</w:t></w:r></w:p>'
        '</w:sdtContent></w:sdt>'))
    sectpr.addprevious(parse_xml(
        f'<w:p {w}><w:r><w:t xml:space="preserve">De druk is </w:t></w:r><w:ins w:id="1" '
        'w:author="a"><w:r><w:t>vier</w:t></w:r></w:ins><w:del w:id="2" w:author="a"><w:r>'
        '<w:delText>drie</w:delText></w:r></w:del><w:r><w:t xml:space="preserve"> bar.</w:t>'
        '</w:r></w:p>'))
    box = ('<w:txbxContent><w:p><w:r><w:t>Let op: sluit eerst de kraan.</w:t></w:r></w:p>'
           '</w:txbxContent>')
    sectpr.addprevious(parse_xml(
        f'<w:p {w} {mc}><w:r><w:t xml:space="preserve">Zie het kader. </w:t></w:r><w:r>'
        f'<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>{box}</w:drawing>'
        f'</mc:Choice><mc:Fallback><w:pict>{box}</w:pict></mc:Fallback></mc:AlternateContent>'
        '</w:r></w:p>'))
    buf = io.BytesIO()
    d.save(buf)
    text = load_bytes("rapport.docx", buf.getvalue()).text
    assert text.split("\n\n") == ["Inleiding van het rapport.", "De pomp staat in kelder B.",
                                  "De druk is vier bar.", "Zie het kader.",
                                  "Let op: sluit eerst de kraan."]
