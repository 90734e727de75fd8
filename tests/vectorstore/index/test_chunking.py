"""Chunker properties: spans map back exactly, nothing is dropped, limits and overlap hold."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from vectorstore.documents import SourceDocument
from vectorstore.index.chunking import chunk_document, chunk_spans
from vectorstore.tokens import count_tokens

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                max_size=12)
sentence = st.lists(words, min_size=1, max_size=30).map(lambda ws: " ".join(ws))
document = st.lists(
    st.tuples(sentence, st.sampled_from([". ", "! ", "? ", "\n", "\n\n", " "])),
    min_size=1, max_size=60,
).map(lambda parts: "".join(s + sep for s, sep in parts))


@settings(max_examples=150, deadline=None)
@given(document, st.integers(16, 300), st.integers(0, 80))
def test_spans_cover_all_text_in_order(text, max_tokens, overlap):
    spans = chunk_spans(text, max_tokens, overlap)
    covered = [False] * len(text)
    previous_start = -1
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert start > previous_start, "chunks must advance"
        previous_start = start
        for i in range(start, end):
            covered[i] = True
    dropped = [c for c, seen in zip(text, covered, strict=True) if not seen and not c.isspace()]
    assert dropped == [], "every non-space character belongs to some chunk"


@settings(max_examples=100, deadline=None)
@given(document, st.integers(16, 300))
def test_chunks_respect_token_limit(text, max_tokens):
    for start, end in chunk_spans(text, max_tokens, 0):
        # a chunk may exceed the limit only by the tokenizer's merge effects at joins
        assert count_tokens(text[start:end]) <= max_tokens + 8


def test_document_chunks_keep_offsets_and_ids():
    text = ("Eerste alinea. " * 40 + "\n\n") + ("Deuxième paragraphe ici. " * 40)
    doc = SourceDocument("a.txt", "A", text, "nl", "hash1", "txt")
    chunks = chunk_document(doc, 60, 15)
    assert len(chunks) > 3
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
    assert [c.position for c in chunks] == list(range(len(chunks)))
    again = chunk_document(doc, 60, 15)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
    other = chunk_document(SourceDocument("a.txt", "A", text, "nl", "hash2", "txt"), 60, 15)
    assert not {c.chunk_id for c in other} & {c.chunk_id for c in chunks}


def test_overlap_repeats_whole_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_spans(text, 50, 20)
    for (_, e1), (s2, _) in zip(chunks, chunks[1:], strict=False):
        assert s2 < e1, "consecutive chunks overlap"
        assert re.match(r"Sentence number \d+", text[s2:]), "overlap starts at a sentence"


def test_sentences_are_not_split_when_they_fit():
    text = "Kort. " + "Dit is een zin die precies blijft staan zoals hij is. " * 30
    for start, end in chunk_spans(text, 40, 0):
        assert text[start:end].rstrip().endswith(".")


def test_chunks_keep_to_their_section_and_carry_section_and_pages_through_the_store():
    """A chunk ends at a heading once it holds a quarter of its size; its section path and the
    pages it touches survive Chroma's flat metadata."""
    from vectorstore.documents import Chunk
    from vectorstore.readers.structured_text import TextBuilder

    builder = TextBuilder()
    builder.heading(1, "1 Haven", page="7")
    for i in range(4):
        builder.block(f"De haven van Antwerpen ontving in het jaar {2000 + i} meer schepen dan "
                      f"ooit, vooral containerschepen uit Azië en Amerika.", page="7" if i < 2 else "8")
    builder.heading(2, "1.1 Sluizen", page="8")
    builder.block("De nieuwe sluis is de grootste ter wereld en opende in 2016.", page="8")
    parsed = builder.build()
    doc = SourceDocument(source_id="haven.pdf", title="Haven", text=parsed.text, language="nl",
                         doc_hash="h", format="pdf", headings=parsed.headings, pages=parsed.pages)
    chunks = chunk_document(doc, max_tokens=200, overlap_tokens=40)
    assert [c.section for c in chunks] == ["1 Haven", "1 Haven › 1.1 Sluizen"]
    first, second = chunks
    assert [p.label for p in first.pages] == ["7", "8"] and first.location == "p. 7–8 · 1 Haven"
    assert second.text.startswith("1.1 Sluizen")  # no overlap across the section break
    sluis = doc.text.index("De nieuwe sluis")
    assert second.page_at(sluis) == "8"
    again = Chunk.from_metadata(second.chunk_id, second.text, second.metadata())
    assert again == second
