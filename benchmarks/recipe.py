"""The LangChain RAG tutorial's recipe on a dev set, with Kenbron's own local model: the baseline
the unseen question sets also measure, so it is measured here the same way.

The recipe, as the tutorial writes it: each file's text as BeautifulSoup's `get_text()` (HTML) or
pypdf (PDF, a document per page) gives it, `RecursiveCharacterTextSplitter(1000, 200)`, an
`InMemoryVectorStore` of multilingual-e5-small vectors, the 4 nearest chunks stuffed into the
tutorial's prompt (`rlm/rag-prompt`), one call to the chat model. No gate, no verification, no
citations. Its answers are scored by Kenbron's own metrics (`assistant.evaluation.metrics`), so
its report sits beside a `kenbron eval` report figure for figure: "abstained" is the model
saying it does not know; citation figures are empty.

    .venv/bin/python -m benchmarks.recipe --questions eval/realdocs/questions.dev.jsonl \
        --corpus eval/realdocs/corpus --out /tmp/recipe-realdocs

The model is the local worker Kenbron starts (settings from the environment, as `kenbron`).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.answer import Timings
from assistant.evaluation.questions import Question, load_questions
from assistant.evaluation.records import EvalRecord, RetrievedChunk
from assistant.evaluation.report import build_report
from assistant.evaluation.run import halves_table, write_outputs
from assistant.models.llm import make_chat_model, model_label, stop_local_workers
from assistant.settings import Settings
from vectorstore.index.embeddings import E5Embeddings

log = logging.getLogger("benchmarks.recipe")

K = 4
CHUNK_SIZE, CHUNK_OVERLAP = 1000, 200
# the tutorial's prompt (LangChain hub "rlm/rag-prompt"), word for word
PROMPT = ChatPromptTemplate.from_messages([("human", (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved "
    "context to answer the question. If you don't know the answer, just say that you don't know. "
    "Use three sentences maximum and keep the answer concise.\n"
    "Question: {question} \nContext: {context} \nAnswer:"))])
# "I don't know" as the model writes it in the three question languages
DONT_KNOW = re.compile(r"\b(?:don'?t know|do not know|weet (?:het )?niet|ne sais pas|je l'ignore)\b",
                       re.IGNORECASE)


def load_corpus(root: Path) -> list[Document]:
    """Every file under `root` as the recipe reads it; `source` is the path relative to `root`."""
    from bs4 import BeautifulSoup
    from pypdf import PdfReader

    docs = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        source = path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm"):
            text = BeautifulSoup(path.read_bytes(), "html.parser").get_text()
            docs.append(Document(page_content=text, metadata={"source": source}))
        elif suffix == ".pdf":
            for number, page in enumerate(PdfReader(path).pages, start=1):
                docs.append(Document(page_content=page.extract_text() or "",
                                     metadata={"source": source, "page": number}))
        elif suffix in (".txt", ".md"):
            docs.append(Document(page_content=path.read_text(encoding="utf-8"),
                                 metadata={"source": source}))
    return docs


def build_store(root: Path, embeddings: Embeddings | None = None) -> InMemoryVectorStore:
    """The recipe's index of `root`: multilingual-e5-small unless `embeddings` are given."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP,
                                              add_start_index=True)
    chunks = splitter.split_documents(load_corpus(root))
    started = time.perf_counter()
    store = InMemoryVectorStore(embeddings or E5Embeddings())
    store.add_documents(chunks)
    log.info("recipe: %d chunks embedded in %.0f s", len(chunks), time.perf_counter() - started)
    return store


def answer(store: InMemoryVectorStore, chat: BaseChatModel, question: Question) -> EvalRecord:
    """The recipe's answer to `question`, as the record `kenbron eval` writes for its own."""
    started = time.perf_counter()
    hits = store.similarity_search_with_score(question.question, k=K)
    retrieved = [RetrievedChunk(rank, doc.metadata["source"],
                                f"{doc.metadata['source']}#{doc.metadata.get('start_index', 0)}",
                                doc.page_content, float(score))
                 for rank, (doc, score) in enumerate(hits, start=1)]
    retrieval_ms = (time.perf_counter() - started) * 1000
    context = "\n\n".join(doc.page_content for doc, _ in hits)
    text = ""
    first_token_ms = None
    for piece in (PROMPT | chat).stream({"question": question.question, "context": context}):
        if first_token_ms is None and piece.content:
            first_token_ms = (time.perf_counter() - started) * 1000
        text += piece.content
    total_ms = (time.perf_counter() - started) * 1000
    return EvalRecord(asked=question, retrieved=retrieved,
                      context_chunk_ids=[c.chunk_id for c in retrieved], answer=text.strip(),
                      abstained=bool(DONT_KNOW.search(text)), model_called=True,
                      timings=Timings(retrieval_ms=retrieval_ms, first_token_ms=first_token_ms,
                                      total_ms=total_ms))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env(backend="local")
    chat = make_chat_model(settings)
    questions = load_questions(args.questions)
    store = build_store(args.corpus)
    records = []
    try:
        for i, question in enumerate(questions, start=1):
            records.append(answer(store, chat, question))
            log.info("recipe: %d/%d questions", i, len(questions))
    finally:
        stop_local_workers()
    report = build_report(records, K, {
        "backend": "recipe (LangChain RAG tutorial)", "model": model_label(settings, chat),
        "embedding": "e5", "k": K, "chunking": f"{CHUNK_SIZE} characters, overlap {CHUNK_OVERLAP}",
        "retrieval": "dense (in-memory, cosine)"})
    write_outputs(args.out, records, report)
    sys.stdout.write(halves_table({"recipe": report}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
