"""Real documents read whole: the realdocs HTML manual pages and LaTeX books, a PDF printed by a
real browser (two columns, running header and footer, hyphenation), and the sentence splitter's
properties on technical text."""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.grounding.extractive import _following
from assistant.grounding.specifics import missing_specifics, terms
from tests.conftest import REALDOCS
from vectorstore.index.chunking import chunk_document, sentence_spans
from vectorstore.readers import ocr
from vectorstore.readers.loaders import RejectedFile, load_bytes, load_file

QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(QUOTES).split()).lower()


def evidence_by_source() -> dict[str, list[str]]:
    """Evidence strings a person copied from each page: each must read as one piece of text."""
    found: dict[str, list[str]] = {}
    for line in (REALDOCS / "questions.dev.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if len(q["sources"]) == 1:
            found.setdefault(q["sources"][0], []).extend(q["evidence"])
    return found


@pytest.fixture(scope="module")
def html_pages():
    return {p.relative_to(REALDOCS / "corpus").as_posix(): load_file(p)
            for p in sorted((REALDOCS / "corpus").glob("*/*.html"))}


def test_html_evidence_lies_within_one_sentence_and_navigation_is_gone(html_pages):
    within, total = 0, 0
    for source, evidence in evidence_by_source().items():
        if source not in html_pages:
            continue
        doc = html_pages[source]
        sentences = [normalise(doc.text[s:e]) for s, e in sentence_spans(doc.text)]
        for ev in evidence:
            total += 1
            within += any(normalise(ev) in s for s in sentences)
    assert total >= 20 and within / total >= 0.95
    for doc in html_pages.values():
        paragraphs = [p.strip() for p in doc.text.split("\n\n")]
        # the manual's previous/next/up/home links and their labels are not content
        assert not {"Terug", "Volgende", "Omhoog", "Precédent", "Suivant", "Niveau supérieur",
                    "Sommaire"} & set(paragraphs)


def test_html_inline_elements_stay_in_their_sentence_and_headings_are_sections(html_pages):
    clone = html_pages["nl/gimp-tool-clone.html"]
    assert clone.title == "3.12. Klonen"
    assert [h.level for h in clone.headings[:2]] == [3, 4]
    options = next(h for h in clone.headings if "Opties" in h.title)
    assert clone.section_at(options.start + 50) == "3.12. Klonen › 3.12.3. Opties"
    # a menu path is written with inline elements: it must read as one phrase in its sentence
    assert "via Beeld → Zoomen" in html_pages["nl/gimp-view-zoom.html"].text
    chunks = chunk_document(clone)
    assert all(c.section and c.section.startswith("3.12. Klonen") for c in chunks)


def test_html_list_items_keep_their_bullet_with_their_text(html_pages):
    """The manual writes every list item as a paragraph inside `<li>`: the bullet goes with the
    item's text, so a lead-in ending in a colon is followed by its first item, not by a bare "-"."""
    lead_ins = 0
    for doc in html_pages.values():
        paragraphs = [p.strip() for p in doc.text.split("\n\n")]
        assert not [p for p in paragraphs if p in ("-", "- ")]
        for before, after in itertools.pairwise(paragraphs):
            last = " ".join(before[slice(*sentence_spans(before)[-1])].split())
            if last.endswith(":") and after.startswith("- ") and doc.text.count(last) == 1:
                lead_ins += 1
                first = " ".join(after[slice(*sentence_spans(after)[0])].split())
                assert _following(doc.text, last) == first
    assert lead_ins >= 5


SPHINX_PAGE = """\
Backups
=======

The tool copies a tree of files. Two options matter:

* ``--dry-run`` lists what would be copied.

  Nothing is written.

* ``--delete`` removes files the source no longer has.

Restoring
---------

.. py:function:: restore(archive, target)

   Unpacks *archive* into *target*; an existing file is replaced.

.. list-table:: Formats
   :header-rows: 1

   * - Format
     - Suffix
   * - gzip'ed tar
     - .tar.gz
   * - zip
     - .zip
"""


def test_sphinx_html_without_permalinks_sidebar_or_lone_bullets(tmp_path):
    """A page built by Sphinx itself: its headings and definitions end in a permalink "¶" and its
    sidebar repeats the table of contents; neither is text of the page."""
    from sphinx.cmd.build import build_main

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "conf.py").write_text("project = 'Demo'\nhtml_theme = 'alabaster'\n")
    (tmp_path / "src" / "index.rst").write_text(SPHINX_PAGE)
    assert build_main(["-q", "-b", "html", str(tmp_path / "src"), str(tmp_path / "out")]) == 0
    doc = load_file(tmp_path / "out" / "index.html")
    paragraphs = doc.text.split("\n\n")
    assert "¶" not in doc.text
    assert doc.title == "Backups"
    assert [h.title for h in doc.headings] == ["Backups", "Restoring"]
    assert "- --dry-run lists what would be copied." in paragraphs
    assert "restore(archive, target): Unpacks archive into target; an existing file is replaced." \
        in paragraphs
    assert not {"Navigation", "Quick search", "Related Topics", "Demo"} & set(paragraphs)
    # a data table row by row, though Sphinx writes each cell as a paragraph (`<td><p>`)
    assert "Format | Suffix\ngzip\u2019ed tar | .tar.gz\nzip | .zip" in paragraphs


HANDBOOK = Path("/usr/share/doc/debian-handbook/html")


@pytest.mark.skipif(not HANDBOOK.is_dir(), reason="debian-handbook is not installed "
                    "(scripts/test installs it)")
@pytest.mark.parametrize("language", ["nl-NL", "fr-FR"])
def test_publican_html_without_its_banner_and_page_navigation(language):
    """The Debian Administrator's Handbook as Debian ships it (Publican): a download banner and
    previous/up/home/next lists above and below every page are furniture."""
    pages = sorted((HANDBOOK / language).glob("sect.*.html"))[:40]
    assert len(pages) == 40
    for page in pages:
        doc = load_file(page)
        paragraphs = doc.text.split("\n\n")
        assert paragraphs[0] == doc.title and re.match(r"[\dA-Z]+(\.\d+)*\. \S", doc.title), page
        assert "Download the ebook" not in doc.text
        assert not [p for p in paragraphs if p.startswith("- ") and p[2:].startswith(
            ("Terug", "Volgende", "Omhoog", "Begin", "Précédent", "Suivant", "Niveau supérieur",
             "Sommaire"))], page


DEBIAN_DOCS = Path("/usr/share/doc")
EDU_MANUAL = DEBIAN_DOCS / "debian-edu-doc-nl" / "debian-edu-bookworm-manual"
LILYPOND = DEBIAN_DOCS / "lilypond" / "html" / "Documentation" / "learning.nl.pdf"
EXPEYES = Path("/usr/share/expeyes/doc/fr-eyes.pdf")
KICAD = DEBIAN_DOCS / "kicad" / "help" / "fr"
not_installed = "Debian's package is not installed (scripts/test installs it)"


@pytest.mark.skipif(not EDU_MANUAL.with_suffix(".html").is_file(), reason=not_installed)
def test_docbook_html_table_of_cell_paragraphs_read_row_by_row():
    """The Debian Edu manual as Debian ships it (DocBook, Dutch): every cell is a `<td><p>`, and
    was read as a paragraph of its own; a note beside its icon stays a walked layout table."""
    doc = load_file(EDU_MANUAL.with_suffix(".html"))
    lines = doc.text.splitlines()
    assert "Webserver | Apache/PHP | www" in lines
    assert "Beschrijving van de dienst | Gebruikelijke naam | DNS-naam van de dienst" in lines
    assert "Webserver" not in lines


@pytest.mark.skipif(not KICAD.is_dir(), reason=not_installed)
def test_asciidoctor_html_title_from_its_header_and_tables_by_row():
    """KiCad's French manual (Asciidoctor): the document's <h1> sits in a header that is
    dropped as furniture with the author line and the table of contents."""
    doc = load_file(KICAD / "getting_started_in_kicad.html")
    assert doc.title == "Démarrer avec KiCad"
    assert "Table of Contents" not in doc.text and "The KiCad Team" not in doc.text
    editor = load_file(KICAD / "eeschema.html")
    assert "Shift | Shift | Shift | Add the item to the existing selection." \
        in editor.text.splitlines()


@pytest.mark.skipif(not EDU_MANUAL.with_suffix(".pdf").is_file(), reason=not_installed)
def test_dblatex_pdf_without_contents_pages_or_roman_numbered_headers():
    """The same manual as PDF (DBLaTeX, xdvipdfmx): its contents pages list chapters without
    dotted leaders, and its front matter's running header ends in a roman page number."""
    doc = load_file(EDU_MANUAL.with_suffix(".pdf"))
    assert not re.search(r"^\d+ [A-Z][\w ]+ \d+$", doc.text, re.M)  # "7 Aan de slag 54"
    assert not re.search(r"Bookworm [ivx]+\b", doc.text)
    assert "Inhoudsopgave" not in [h.title for h in doc.headings]
    assert "3.1.2 Hoofdserver" in [h.title for h in doc.headings]
    # its tables row by row, a first cell printed on two lines whole
    lines = doc.text.splitlines()
    assert "Webserver | Apache/PHP | www" in lines
    assert "Automatische netwerkconfiguratie van machines | DHCP | bootps" in lines


@pytest.mark.skipif(not LILYPOND.is_file(), reason=not_installed)
def test_ghostscript_pdf_keeps_letters_without_glyph_boxes_and_no_symbol_headings():
    """LilyPond's Dutch learning manual (texinfo, distilled by Ghostscript): PDFium gives some
    letters no box ("N" of "Notatiehandleiding"), which cut their word off its line; music
    glyphs printed large ("h") were taken for headings."""
    doc = load_file(LILYPOND)
    assert "Notatiehandleiding: Sectie \u201cWriting pitches\u201d" in doc.text
    assert "Sectie \u201cWriting rhythms\u201d" in doc.text
    assert "LilyPond-invoerbestanden lijken op broncodebestanden" in doc.text
    assert all(re.search(r"[^\W\d_]{3}", h.title) for h in doc.headings)


@pytest.mark.skipif(not EXPEYES.is_file(), reason=not_installed)
def test_pdftex_accents_drawn_apart_are_composed():
    """expEYES' French manual (pdfTeX, old T1 fonts): grave accents and others are separate
    glyphs ("`a", "apr`es") that no Unicode normalisation composes. (A few lines after a formula
    keep them: PDFium gives their characters the box of the next one.)"""
    doc = load_file(EXPEYES)
    assert len(re.findall(r"\bà\b", doc.text)) > 400 and "après" in doc.text
    assert doc.text.count("`") < 10


@pytest.fixture(scope="module")
def books():
    return {name: load_file(REALDOCS / "corpus" / "pdf" / name)
            for name in ("lshort-nl.pdf", "lshort-fr.pdf")}


def test_pdf_books_reflow_into_paragraphs_with_pages_and_outline(books):
    nl, fr = books["lshort-nl.pdf"], books["lshort-fr.pdf"]
    assert nl.title.startswith("De niet zo korte inleiding tot")
    assert fr.title.startswith("Une courte (?) introduction")
    assert len(nl.pages) > 100 and len(fr.pages) > 150  # blank, contents, index pages: no text
    for doc in books.values():
        # lines are joined: few paragraphs stop in mid-sentence before one that goes on in
        # lower case (those left are formulas and code samples); printed line by line, most would
        paragraphs = doc.text.split("\n\n")
        cut = sum(bool(re.search(r"[a-zé,]$", a) and re.match(r"[a-zé]", b))
                  for a, b in zip(paragraphs, paragraphs[1:], strict=False))
        assert cut / len(paragraphs) < 0.05
        # no soft-hyphen marks or a word cut at a line end are left
        assert "\ufffe" not in doc.text
        assert len(doc.headings) > 60
    # words hyphenated at a line end are whole again; accents built from two glyphs are letters
    assert "typemachine" in nl.text and "typemachi- ne" not in nl.text
    assert "geïnteresseerde" in nl.text and "\u0131\u00a8" not in nl.text and "¨" not in nl.text
    # letters PDFium gives no box are kept in their word; accents drawn apart are composed
    assert "Om drie puntjes te plaatsen" in nl.text
    assert "Pour une liste de tous les délimiteurs disponibles, reportez-vous au tableau 3.8" \
        in fr.text
    assert "¡Señorita!" in nl.text and "¡Señorita!" in fr.text
    assert "Merci !\n\nCe document est une traduction" in fr.text  # its drop cap "C" too
    # a table's rows are lines, their cells apart; code keeps its own wide spaces
    assert "Expression | Valeur\nπ | 3,1416" in fr.text
    assert "$\\pi$ & 3&1416 \\\\" in fr.text.splitlines()
    # the contents pages are left out: the headings say what they list
    assert "Woord vooraf v 1 Wat u moet weten" not in nl.text
    assert "Préface vii 1 Ce qu’il faut savoir" not in fr.text
    # the running header of a page ("1.2 Les bases 3") is dropped, its section kept as a heading
    assert not re.search(r"^1\.2 Les bases \d+$", fr.text, re.M)
    assert "1.2 Les bases" in [h.title for h in fr.headings]


def test_pdf_citation_location_names_page_and_section(books):
    nl = books["lshort-nl.pdf"]
    chunks = chunk_document(nl)
    start = nl.text.index("In een ASCII-omgeving spel je")
    chunk = next(c for c in chunks if c.start <= start < c.end)
    page = chunk.page_at(start)
    assert page == "15"  # the book's first chapter starts on the PDF's 15th page
    assert chunk.section.endswith("1.1.1 TEX")
    assert chunk.location.startswith("p. 15") and "1.1 The Name of the Game" in chunk.location


@pytest.mark.browser
def test_pdf_printed_by_chromium_two_columns_header_footer_hyphenation(tmp_path):
    """A real tool's PDF: Chromium prints an article in two columns, with a running header and
    a page-number footer on every page, and breaks a long word at a soft hyphen."""
    playwright = pytest.importorskip("playwright.sync_api")
    left = ("Het waterschap controleert elke lente de dijken langs de rivier. " * 3
            + "De inspecteurs meten de hoogte van elke dijk met een "
            + "water\u00adstands\u00adverwachtings\u00adinstrumen\u00adtarium. ")
    right = "De gemeente publiceert het verslag van de inspectie in juni. " * 3
    body = "".join(f"<p>{left} {right}</p>" for _ in range(30))
    html = ("<html><head><style>div{column-count:2;font:11pt serif} p{hyphens:manual}</style>"
            "</head><body><h1>Inspectie van de dijken</h1><div>" + body + "</div></body></html>")
    header = "<div style='font-size:9px;width:100%;text-align:center'>Jaarverslag waterschap</div>"
    footer = ("<div style='font-size:9px;width:100%;text-align:center'>"
              "<span class='pageNumber'></span></div>")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.set_content(html)
        pdf = page.pdf(format="A5", display_header_footer=True, header_template=header,
                       footer_template=footer, margin={"top": "60px", "bottom": "60px",
                                                       "left": "40px", "right": "40px"})
        browser.close()
    doc = load_bytes("dijken.pdf", pdf)
    assert len(doc.pages) >= 4
    assert "Jaarverslag waterschap" not in doc.text
    assert not re.search(r"^\d+$", doc.text, re.M)  # no page number left as a paragraph
    sentences = [doc.text[s:e] for s, e in sentence_spans(doc.text)]
    # every sentence is whole, whichever line, column or page it was printed across
    assert all(s.startswith(("Het ", "De ", "Inspectie")) for s in sentences), sentences[:8]
    assert "waterstandsverwachtingsinstrumentarium" in doc.text
    assert doc.title == "Inspectie van de dijken"


_WORDS = st.sampled_from(["de", "Le", "fichier", "bestand", "config.yaml", "v2.10", "--verbose",
                          "e.g.", "Dr.", "p.", "3.141592", "/etc/hosts", "Ctrl+C", "1.5", "GIMP"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_WORDS, min_size=3, max_size=12), min_size=1, max_size=6))
def test_sentence_spans_cover_text_in_order_and_never_split_a_token(sentences):
    text = " ".join(" ".join(words) + "." for words in sentences)
    spans = sentence_spans(text)
    assert spans == sorted(spans)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    # every non-space character belongs to exactly one sentence
    covered = "".join(text[s:e] for s, e in spans)
    assert covered.replace(" ", "") == text.replace(" ", "")
    # a version, path, option or number is never cut in two
    for s, e in spans:
        assert not text[s:e].startswith(("10", "141592", "yaml", "5.", "hosts"))


def scanned(pages: list[int]) -> bytes:
    """Pages of a real book rendered to images and saved as an image-only PDF, like a scan."""
    import io

    import pypdfium2 as pdfium

    book = pdfium.PdfDocument(REALDOCS / "corpus" / "pdf" / "lshort-nl.pdf")
    images = [book[i].render(scale=200 / 72).to_pil().convert("L") for i in pages]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=200)
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (scripts/test installs it)")
def test_scanned_pdf_is_read_by_ocr_with_its_pages():
    doc = load_bytes("scan.pdf", scanned([35, 36]))  # section 2.4, special characters
    assert [p.label for p in doc.pages] == ["1", "2"]
    assert "aanhalingstekens" in doc.text and "beletselteken" in doc.text
    assert doc.language == "nl"
    # a word hyphenated at a line end in print is whole again
    assert "typemachine" in doc.text


def test_scanned_pdf_without_ocr_is_refused_with_the_way_out(monkeypatch):
    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(RejectedFile, match="no text layer.*install Tesseract"):
        load_bytes("scan.pdf", scanned([35]))


def test_language_of_a_book_whose_first_pages_are_an_english_licence(books):
    """A translated manual often opens with its licence in English (the GPL, the GFDL); the
    language is the book's, read along the whole text, not its first pages'."""
    from vectorstore.language import detect_language

    licence = Path("/usr/share/common-licenses/GPL-3").read_text()[:8000]
    for name, language in (("lshort-nl.pdf", "nl"), ("lshort-fr.pdf", "fr")):
        assert detect_language(licence + "\n\n" + books[name].text) == language


def test_technical_terms_of_real_documents_are_found_where_they_are_written(books, html_pages):
    """The commands, paths and file names of the books and manual pages are terms an answer
    must carry as written (`assistant.grounding.specifics.terms`); each sentence carries its
    own (the PDF reader writes them as printed), and a term counts in no other form."""
    documents = [*books.values(), *html_pages.values()]
    found = set()
    for document in documents:
        for start, end in sentence_spans(document.text):
            sentence = document.text[start:end]
            own = {t.text for t in terms(sentence)}
            found |= own
            assert not own or not own & set(missing_specifics(sentence, sentence)), sentence
    commands = {t for t in found if t.startswith("\\")}
    assert {"\\documentclass", "\\begin", "\\section", "\\newcommand"} <= commands
    assert len(commands) > 200
    assert {".gih", ".gpl", "--without-gvfs"} <= found
    # the command one letter longer is not the command
    assert missing_specifics("Gebruik \\sectionx.", "Gebruik \\section{Inleiding}.") == [
        "\\sectionx"]


@pytest.mark.skipif(not EDU_MANUAL.with_suffix(".pdf").is_file() or not EXPEYES.is_file(),
                    reason=not_installed)
@pytest.mark.parametrize(("pdf", "heading", "opening"), [
    (EDU_MANUAL.with_suffix(".pdf"),
     "14.1 De historiek van configuratie-instellingen: wijzigingen in /etc/ opvolgen met behulp "
     "van Git, een systeem voor versiebeheer", "Met etckeeper worden de wijzigingen"),
    (EXPEYES, "2.19 Déphasage dans des circuits RC en courant alternatif", None),
])
def test_pdf_heading_printed_on_two_lines_is_one_heading(pdf, heading, opening):
    """A heading that wraps is one heading, so the passages below it cite its section and not
    the one before (DBLaTeX and pdfTeX print long titles on two lines)."""
    doc = load_file(pdf)
    found = next((h for h in doc.headings if h.title == heading), None)
    assert found is not None, [h.title for h in doc.headings if h.title[:4] == heading[:4]]
    below = found.start + len(heading) + 40
    assert heading in doc.section_at(below).split(" › ")
    for chunk in chunk_document(doc):
        if opening and opening in chunk.text:
            assert chunk.section.endswith(heading)
            opening = None
    assert opening is None
