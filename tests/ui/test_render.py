"""Answers and sources as HTML: every marker a link to the very sentence it stands for, each
answer's sources in its own section, document text escaped (citations verified with the real
multilingual embedder, on an invented two-page document); cited PDF pages drawn as printed with
the quote marked (real pages of a real book)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from assistant.answer import Answer, Citation
from assistant.grounding.citations import verify_citations
from tests.conftest import REPO
from ui.pdf_pages import render_quote
from ui.render import answer_html, plain_text, sources_panel, sources_section
from vectorstore.documents import Chunk, PageStart, ScoredChunk
from vectorstore.index.chunking import sentence_spans
from vectorstore.readers.loaders import load_file

PAGE_ONE = ("De veerpont van Zwartewaal vaart elk halfuur naar Brielle. "
            "Een enkele reis kost 2,40 euro voor voetgangers. ")
PAGE_TWO = ("In de winter vaart de pont alleen overdag. "
            "Fietsers betalen <b>3,10 euro</b> per overtocht.")
DOCUMENT = PAGE_ONE + PAGE_TWO


@pytest.fixture(scope="module")
def embed(use_embeddings):
    def unit(texts: list[str]) -> np.ndarray:
        v = np.asarray(use_embeddings.embed_documents(texts), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    return unit


@pytest.fixture(scope="module")
def answer(embed) -> Answer:
    chunk = Chunk(chunk_id="veer.pdf@1#0", source_id="veer.pdf", title="Dienstregeling <veer>",
                  text=DOCUMENT, start=0, end=len(DOCUMENT), position=0, language="nl",
                  doc_hash="h", section="Tarieven › Pont",
                  pages=(PageStart(0, "7"), PageStart(len(PAGE_ONE), "8")))
    hit = ScoredChunk(chunk, 1.0, rank=1)
    text = ("Voetgangers betalen 2,40 euro voor een enkele reis [1]. "
            "Fietsers betalen 3,10 euro per overtocht [1].")
    check = verify_citations(text, [hit], embed, question="Wat kost de veerpont?")
    return Answer(question="Wat kost de veerpont?", text=check.text, language="nl",
                  citations=check.citations, retrieved=[hit])


def test_each_sentence_citing_a_source_keeps_its_own_quote_and_page(answer):
    (citation,) = answer.citations
    assert [q.text for q in citation.quotes] == [
        "Een enkele reis kost 2,40 euro voor voetgangers.",
        "Fietsers betalen <b>3,10 euro</b> per overtocht."]
    assert [q.page for q in citation.quotes] == ["7", "8"]
    assert all(DOCUMENT[q.start:q.end] == q.text for q in citation.quotes)
    assert Citation.from_dict(citation.to_dict()) == citation  # results.jsonl keeps them


def test_markers_link_to_their_own_highlighted_sentence(answer):
    html = answer_html(answer, msg=3)
    targets = re.findall(r"href='#(kb-m3-s1-q\d)'", html)
    assert targets == ["kb-m3-s1-q0", "kb-m3-s1-q1"]
    section = sources_section(answer, answer.retrieved, lambda _: DOCUMENT, 3, answer.question, "nl")
    for target, quote in zip(targets, answer.citations[0].quotes, strict=True):
        mark = re.search(rf"<mark id='{target}'>(.*?)</mark>", section)
        assert mark is not None and mark.group(1) == quote.text.replace("<", "&lt;").replace(">", "&gt;")
    # the tip of each marker names the source, the page of its own quote, and that quote
    tips = re.findall(r"<span class='kb-tip'>(.*?)</span>", html)
    assert "p. 7" in tips[0] and "2,40 euro" in tips[0] and "3,10" not in tips[0]
    assert "p. 8" in tips[1] and "3,10 euro" in tips[1]
    # document text and titles are shown as text, never as markup
    assert "<b>3,10" not in html + section and "<veer>" not in html + section
    assert "&lt;b&gt;3,10 euro&lt;/b&gt;" in section


def test_the_message_reads_as_its_answer_again(answer):
    assert plain_text(answer_html(answer, msg=0)) == answer.text


def test_the_panel_shows_the_latest_answer_and_keeps_the_others():
    panel = sources_panel(["<p>first</p>", "<p>second</p>"], "fr")
    sections = re.findall(r"<section class='kb-msg' id='kb-m(\d)' data-msg='\d'( hidden)?>", panel)
    assert sections == [("0", " hidden"), ("1", "")]
    assert "aria-live='polite'" in panel and "<h3>Sources</h3>" in panel
    waiting = sources_panel(["<p>first</p>"], "fr", note="Recherche…")
    assert "Recherche…" in waiting and " hidden>" in waiting  # the old answer's sources step aside
    assert "Les sources apparaissent ici" in sources_panel([], "fr")
    assert "Bronnen verschijnen hier" in sources_panel([], "nl")


# --- PDF pages as printed ----------------------------------------------------------------------

BOOK = REPO / "eval" / "realdocs" / "corpus" / "pdf" / "lshort-nl.pdf"


def _marked_rows(png: Path) -> list[int]:
    """Rows of the picture holding highlight-coloured pixels (yellow: red and green high, blue
    clearly lower)."""
    from PIL import Image

    image = Image.open(png).convert("RGB")
    pixels = image.load()
    rows = []
    for y in range(image.height):
        hits = sum(1 for x in range(0, image.width, 3)
                   if (p := pixels[x, y])[0] > 200 and p[1] > 180 and p[2] < 170)
        if hits > 5:
            rows.append(y)
    return rows


@pytest.fixture(scope="module")
def book_sentences():
    """Sentences of the Dutch LaTeX book that run over two printed lines, with their pages."""
    doc = load_file(BOOK)
    spans = [(s, e) for s, e in sentence_spans(doc.text) if 150 < e - s < 300]
    return [(doc.text[s:e], [p.label for p in doc.pages if p.start <= s][-1])
            for s, e in spans[:: len(spans) // 5]]  # five spread over the book


def test_a_cited_pdf_page_is_drawn_with_the_quote_marked_over_its_lines(book_sentences, tmp_path):
    for quote, page in book_sentences[:4]:
        png = render_quote(BOOK, page, quote, tmp_path)
        assert png is not None and png.stat().st_size > 10_000
        rows = _marked_rows(png)
        # a sentence of 150-300 characters covers two to five printed lines, no more
        assert 20 <= len(rows) <= 5 * 40, (quote, page, len(rows))
        assert render_quote(BOOK, page, quote, tmp_path) == png  # drawn once, then kept


def test_a_quote_from_another_page_marks_nothing_and_an_unknown_page_draws_nothing(book_sentences, tmp_path):
    (quote, page), (_, other) = book_sentences[0], book_sentences[3]
    assert page != other
    assert _marked_rows(render_quote(BOOK, other, quote, tmp_path)) == []
    assert render_quote(BOOK, "9999", quote, tmp_path) is None


def test_ingested_pdfs_are_kept_for_their_pictures_and_go_with_their_document(make_kb, tmp_path):
    excerpt = pdfium.PdfDocument.new()
    excerpt.import_pages(pdfium.PdfDocument(BOOK), [35, 36])
    pdf = tmp_path / "upload" / "tekens.pdf"
    pdf.parent.mkdir()
    excerpt.save(str(pdf))
    kb = make_kb(data_dir=tmp_path / "data")
    kb.ingest([pdf])
    pdf.unlink()  # an upload's temporary file is gone after the ingest
    kept = kb.original("tekens.pdf")
    assert kept is not None and kept.read_bytes()[:5] == b"%PDF-"
    kb.remove("tekens.pdf")
    assert kb.original("tekens.pdf") is None and not kept.exists()
