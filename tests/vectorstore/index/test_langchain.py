"""Kenbron's LangChain parts: the retriever passes LangChain's own standard retriever suite
against a real embedded Chroma, and the assistant composes as a Runnable."""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda
from langchain_tests.integration_tests import RetrieversIntegrationTests

from tests.conftest import CORPUS
from vectorstore.index.embeddings import make_embeddings
from vectorstore.index.ingest import ChunkingConfig
from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig
from vectorstore.index.retriever import KenbronRetriever
from vectorstore.index.store import open_client


@cache
def corpus_kb() -> KnowledgeBase:
    """The bundled corpus in an embedded Chroma (fast packaged embeddings), built once."""
    data = Path(tempfile.mkdtemp(prefix="kenbron-lc-"))
    config = StoreConfig(data_dir=data, collection="kenbron", embedding="use",
                         chunking=ChunkingConfig(200, 40))
    kb = KnowledgeBase(config, embeddings=make_embeddings("use"), client=open_client(data, None, 8000))
    folder = data / "docs"
    shutil.copytree(CORPUS, folder)
    kb.ingest([folder])
    return kb


class TestKenbronRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[KenbronRetriever]:
        return KenbronRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"knowledge_base": corpus_kb(), "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?"


def test_documents_carry_what_a_citation_needs():
    docs = KenbronRetriever(knowledge_base=corpus_kb(), k=3).invoke(
        "Wat verweet Altman Musk over diens kritiek op ChatGPT?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    first = docs[0]
    assert first.metadata["source"] == "001_be6fdfb56eccf482.txt"  # the French source
    assert first.metadata["language"] == "fr" and first.metadata["rank"] == 1
    source = (CORPUS / first.metadata["source"]).read_text(encoding="utf-8")
    assert source[first.metadata["start"]:first.metadata["end"]] == first.page_content
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3]
    assert docs[0].metadata["score"] >= docs[1].metadata["score"] >= docs[2].metadata["score"]


def test_k_is_checked():
    with pytest.raises(ValueError, match="k must be greater than 0"):
        KenbronRetriever(knowledge_base=corpus_kb(), k=0)


def test_assistant_composes_as_a_runnable(tmp_path):
    from assistant.pipeline.chain import Assistant
    from assistant.settings import Settings

    settings = Settings.from_env(backend="extractive", data_dir=str(tmp_path), embedding="use")
    assistant = Assistant(settings, knowledge_base=corpus_kb(), verify_embeddings=make_embeddings("use"))
    chain = assistant.as_runnable() | RunnableLambda(lambda answer: (answer.text, answer.citations))
    text, citations = chain.invoke({"question": "Selon Altman, de quoi Elon Musk se plaint-il "
                                                "parfois à propos de ChatGPT ?", "history": []})
    assert citations and citations[0].source_id == "001_be6fdfb56eccf482.txt"
    answer = assistant.as_runnable().invoke("Wie is de CEO van Mistral?")
    assert answer.abstained and answer.language == "nl"
