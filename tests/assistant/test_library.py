"""Collections: each asked on its own, sharing the first assistant's models; names checked."""

from __future__ import annotations

import pytest

from assistant.library import CollectionError, Library
from assistant.pipeline.chain import Assistant
from assistant.settings import Settings
from vectorstore.index.ingest import ChunkingConfig
from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig

# invented documents: nothing here comes from an evaluation question set
FERRY = ("Veerdienst Oosterwaal\n\nDe veerpont van Oosterwaal vaart elk half uur tussen de "
         "kade en het eiland. Een enkele overtocht kost 3 euro voor voetgangers.\n")
KILN = ("Four à pain de Ravenel\n\nLe four communal de Ravenel chauffe chaque samedi dès six "
        "heures. Une fournée de quarante miches demande deux heures de cuisson.\n")
BAKING = "Combien d'heures de cuisson demande une fournée de quarante miches à Ravenel ?"


def library_on(data_dir, embeddings) -> Library:
    settings = Settings.from_env(backend="extractive", data_dir=str(data_dir), embedding="use")
    kb = KnowledgeBase(StoreConfig(data_dir=data_dir, embedding="use", chunking=ChunkingConfig(200, 40)),
                       embeddings=embeddings)
    return Library(Assistant(settings, knowledge_base=kb, verify_embeddings=embeddings))


def test_a_question_is_answered_from_its_own_collection_only(tmp_path, use_embeddings):
    library = library_on(tmp_path / "data", use_embeddings)
    (tmp_path / "veer.txt").write_text(FERRY, encoding="utf-8")
    (tmp_path / "four.txt").write_text(KILN, encoding="utf-8")
    library.first.kb.ingest([tmp_path / "veer.txt"])
    bakery = library.create("bakkerij")
    bakery.kb.ingest([tmp_path / "four.txt"])

    assert library.names() == ["kenbron", "bakkerij"]
    assert [d.source_id for d in library.get("bakkerij").kb.documents()] == ["four.txt"]
    assert [d.source_id for d in library.get(None).kb.documents()] == ["veer.txt"]

    answer = library.get("bakkerij").ask(BAKING)
    assert not answer.abstained and {c.source_id for c in answer.citations} == {"four.txt"}
    assert "deux heures" in answer.text
    # the default collection does not know the bakery: nothing of it is retrieved
    elsewhere = library.get().ask(BAKING)
    assert all(h.chunk.source_id == "veer.txt" for h in elsewhere.retrieved)

    # one embedder, one verifier, one Chroma client, one readiness for all collections
    assert bakery.kb.embeddings is library.first.kb.embeddings
    assert bakery.kb.store.client is library.first.kb.store.client
    assert bakery._verifier() is library.first._verifier()
    assert bakery.ready is library.first.ready
    assert library.get("bakkerij") is bakery  # made once


def test_collections_outlive_the_process_that_made_them(tmp_path, use_embeddings):
    library_on(tmp_path, use_embeddings).create("handleidingen")
    again = library_on(tmp_path, use_embeddings)
    assert again.names() == ["kenbron", "handleidingen"]
    assert again.get("handleidingen").kb.documents() == []


@pytest.mark.parametrize(("name", "reason"), [
    ("ab", "collection_name_rule"), ("-manuals", "collection_name_rule"),
    ("my manuals", "collection_name_rule"), ("a..b", "collection_name_rule"),
    ("x" * 61, "collection_name_rule"), ("notes_documents", "collection_name_rule"),
    ("kenbron", "collection_exists"), ("", "collection_name_rule")])
def test_a_bad_or_taken_name_is_refused_with_its_reason(tmp_path, use_embeddings, name, reason):
    library = library_on(tmp_path, use_embeddings)
    with pytest.raises(CollectionError) as refused:
        library.create(name)
    assert refused.value.reason == reason
    assert library.names() == ["kenbron"]  # nothing was made


def test_an_unknown_collection_is_an_error_not_a_new_one(tmp_path, use_embeddings):
    library = library_on(tmp_path, use_embeddings)
    with pytest.raises(CollectionError) as unknown:
        library.get("elders")
    assert unknown.value.reason == "unknown_collection" and unknown.value.name == "elders"
    assert library.names() == ["kenbron"]


def test_settings_refuse_a_collection_chroma_cannot_hold():
    with pytest.raises(ValueError, match="KENBRON_COLLECTION"):
        Settings.from_env(collection="my manuals")
