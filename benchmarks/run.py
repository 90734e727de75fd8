"""Kenbron's benchmark: ingestion, retrieval, memory and local-model latency at growing sizes.

    .venv/bin/python benchmarks/run.py [--sizes 1000,10000,100000] [--server] [--llm] --out DIR

Writes DIR/benchmark.json, DIR/benchmark.md (tables) and DIR/benchmark.png. Each collection size
runs in a child process of its own so its peak memory is its own. How the synthetic collections
are made, and why they are embedded with a hashing embedder, is in `benchmarks/synthetic.py`; the
packaged neural embedders are measured on a sample (`embedders` in the JSON). Figures are medians
or percentiles over many calls: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.evaluation.metrics import percentile  # noqa: E402
from benchmarks.processes import BIN, free_port, in_child, peak_rss_of, start_chroma  # noqa: E402
from benchmarks.run_report import plot, table  # noqa: E402
from benchmarks.synthetic import (  # noqa: E402
    HashEmbeddings,
    corpus_sentences,
    extra_document,
    make_collection,
)

RETRIEVAL_DEPTH = 30  # what hybrid search asks of each retriever for k = 5


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stats(samples_ms: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(samples_ms, 50), 2), "p95": round(percentile(samples_ms, 95), 2)}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def queries(n: int) -> list[str]:
    """The dev set's questions, then corpus sentences shortened to question length."""
    import random

    out = [json.loads(line)["question"]
           for line in (REPO / "eval" / "questions.dev.jsonl").read_text().splitlines() if line]
    rng = random.Random(3)
    pool = [s for sentences in corpus_sentences().values() for s in sentences]
    while len(out) < n:
        words = rng.choice(pool).split()
        out.append(" ".join(words[: rng.randint(5, 12)]))
    return out[:n]


# --- one collection size, in a child process ---------------------------------------------------

def measure_size(folder: str, data_dir: str, host: str | None, port: int, n_queries: int) -> dict:
    from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig

    files = sorted(Path(folder).glob("*.txt"))
    emb = HashEmbeddings()
    config = StoreConfig(data_dir=Path(data_dir), collection="bench", chroma_host=host,
                         chroma_port=port, embedding=emb.name)
    out: dict = {"documents": len(files)}

    embed_s = embedder_only_seconds(files, emb)

    kb = KnowledgeBase(config, embeddings=emb)
    t0 = time.perf_counter()
    report = kb.ingest([folder])
    ingest_s = time.perf_counter() - t0
    n_chunks = kb.store.chunk_count()
    out.update(
        chunks=n_chunks,
        sentences=kb.store.sentences.count(),
        texts_embedded=emb.calls,
        ingest_s=round(ingest_s, 2),
        ingest_chunks_per_s=round(n_chunks / ingest_s, 1),
        embed_only_chunks_per_s=round(n_chunks / embed_s, 1),
        rejected=len(report.rejected),
        peak_rss_mb=round(rss_mb(), 1),
    )
    out["pipeline_share_of_embedder"] = round(out["ingest_chunks_per_s"]
                                              / out["embed_only_chunks_per_s"], 3)

    # re-ingest of the unchanged collection: a fresh knowledge base, as after a restart
    emb.calls = 0
    kb = KnowledgeBase(config, embeddings=emb)
    t0 = time.perf_counter()
    kb.ingest([folder])
    out["reingest_unchanged_s"] = round(time.perf_counter() - t0, 2)
    out["reingest_texts_embedded"] = emb.calls

    out.update(add_one_document(kb, Path(data_dir) / "extra"))
    out.update(retrieval_latency(kb, emb, n_queries))
    return out


def embedder_only_seconds(files: list[Path], emb) -> float:
    """The embedder alone, on exactly what the pipeline embeds (chunks and their sentences)."""
    from vectorstore.index.chunking import chunk_document
    from vectorstore.index.ingest import embed_chunks, sentence_spans_worth_a_vector
    from vectorstore.readers.loaders import load_file

    chunks = [chunk for path in files for chunk in chunk_document(load_file(path))]
    spans = [sentence_spans_worth_a_vector(c) for c in chunks]
    t0 = time.perf_counter()
    for i in range(0, len(chunks), 32):
        embed_chunks(emb, chunks[i : i + 32], spans[i : i + 32])
    embed_s = time.perf_counter() - t0
    emb.calls = 0
    return embed_s


def add_one_document(kb, folder: Path) -> dict:
    """One more document into the large collection; counts documents BM25 re-analyses."""
    from vectorstore.index.lexical import BM25Index

    added = {"n": 0}
    original = BM25Index.add_document

    def counting(self, *a, **kw):
        added["n"] += 1
        return original(self, *a, **kw)

    BM25Index.add_document = counting  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        kb.ingest([extra_document(folder)])
        elapsed = time.perf_counter() - t0
    finally:
        BM25Index.add_document = original  # type: ignore[method-assign]
    return {"add_one_doc_s": round(elapsed, 3), "add_one_doc_lexical_documents_indexed": added["n"]}


def retrieval_latency(kb, emb, n_queries: int) -> dict:
    """Raw Chroma, dense, BM25 and hybrid search times over `n_queries` queries."""
    qs = queries(n_queries)
    vectors = [emb.embed_query(q) for q in qs]
    for q in qs[:5]:  # warm caches (HNSW pages, BM25 posting arrays)
        kb.search(q, 5)
    timings: dict[str, list[float]] = {"chroma_raw": [], "dense": [], "bm25": [], "hybrid": []}

    def timed(name: str, fn) -> None:
        kb._embed_query.cache_clear()
        t = time.perf_counter()
        fn()
        timings[name].append((time.perf_counter() - t) * 1000)

    for q, v in zip(qs, vectors, strict=True):
        timed("chroma_raw", lambda v=v: kb.store.chunks.query(
            query_embeddings=[v], n_results=RETRIEVAL_DEPTH,
            include=["documents", "metadatas", "distances"]))
        timed("dense", lambda q=q: kb.dense(q, RETRIEVAL_DEPTH))
        timed("bm25", lambda q=q: kb.lexical(q, RETRIEVAL_DEPTH))
        timed("hybrid", lambda q=q: kb.search(q, 5))
    retrieval = {name: stats(values) for name, values in timings.items()}
    return {"retrieval_ms": retrieval, "queries": len(qs),
            "hybrid_over_raw_p95": round(retrieval["hybrid"]["p95"] / retrieval["chroma_raw"]["p95"], 2)}


def _child(conn, *args) -> None:
    try:
        conn.send(("ok", measure_size(*args)))
    except BaseException as exc:  # report, never hang the parent
        import traceback

        conn.send(("error", f"{exc!r}\n{traceback.format_exc()}"))


# --- packaged neural embedders on a sample ------------------------------------------------------

def measure_embedders(work: Path, names: list[str]) -> dict:
    from vectorstore.index.chunking import chunk_document
    from vectorstore.index.embeddings import make_embeddings
    from vectorstore.index.ingest import embed_chunks, sentence_spans_worth_a_vector
    from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig
    from vectorstore.readers.loaders import load_file

    sample = work / "embedder-sample"
    if not sample.exists():
        make_collection(sample, 30, seed=11)
    qs = queries(12)
    out = {}
    for name in names:
        log(f"embedder {name}: embed alone, then ingest the same sample")
        emb = make_embeddings(name)
        emb.embed_query("warm up")
        config = StoreConfig(data_dir=work / f"embedder-store-{name}", embedding=name)
        shutil.rmtree(config.data_dir, ignore_errors=True)
        kb = KnowledgeBase(config, embeddings=emb)
        chunks = [c for p in sorted(sample.glob("*.txt")) for c in chunk_document(load_file(p))]
        spans = [sentence_spans_worth_a_vector(c) for c in chunks]
        t0 = time.perf_counter()
        embed_chunks(emb, chunks, spans)
        embed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        kb.ingest([sample])
        ingest_s = time.perf_counter() - t0
        query_ms = []
        for q in qs:
            t = time.perf_counter()
            emb.embed_query(q)
            query_ms.append((time.perf_counter() - t) * 1000)
        out[name] = {
            "chunks": len(chunks), "sentences": sum(map(len, spans)),
            "embed_only_chunks_per_s": round(len(chunks) / embed_s, 2),
            "ingest_chunks_per_s": round(len(chunks) / ingest_s, 2),
            "pipeline_share_of_embedder": round(embed_s / ingest_s, 3),
            "query_embedding_ms": stats(query_ms),
        }
    return out


# --- the local model ----------------------------------------------------------------------------

def measure_llm(work: Path, n_questions: int, ks: list[int]) -> dict:
    """Time to sources and to the first answer token at each k, through the supervised worker;
    the machine's prompt and generation speed from the set-up smoke test (a child process).
    `benchmarks/first_token.py` relates the first token to that speed question by question."""
    from assistant.pipeline.chain import Assistant
    from assistant.provisioning.llama_build import smoke_test
    from assistant.settings import Settings

    settings = Settings.from_env(data_dir=work / "llm-store", backend="local")
    assistant = Assistant(settings)
    log("llm: ingesting the bundled corpus with the default embeddings")
    assistant.kb.ingest([REPO / "data" / "corpus"])
    questions = [json.loads(line) for line in
                 (REPO / "eval" / "questions.dev.jsonl").read_text().splitlines() if line]
    questions = [q["question"] for q in questions if q.get("category") != "unanswerable"]
    questions = questions[:n_questions]
    assistant.ask("warm up: what is this collection about?")
    out: dict = {"model": assistant.chat.model_name, "threads": settings.llm_threads}
    for k in ks:
        sources, first = [], []
        for question in questions:
            log(f"llm k={k}: {question[:60]}")
            t0 = time.perf_counter()
            for event in assistant.stream(question, k=k):
                if event.kind == "sources":
                    sources.append((time.perf_counter() - t0) * 1000)
                elif event.kind == "answer" and event.data.model_called and not event.data.error:
                    first.append(event.data.timings.first_token_ms)
        out[f"k{k}"] = {
            "questions": len(questions),
            "answered": len(first),
            "time_to_sources_ms": stats(sources),
            "first_token_ms": stats(first) if first else None,
        }
    speed = smoke_test(settings.model_path, settings.llm_threads)
    out["prompt_tokens_per_s"] = speed["prompt_tokens_per_s"]
    out["generation_tokens_per_s"] = speed["generation_tokens_per_s"]
    return out


def measure_serve(work: Path) -> dict:
    """Peak resident memory of `kenbron serve` with the local model after answering a question."""
    from gradio_client import Client

    port = free_port()
    env = dict(os.environ, KENBRON_DATA_DIR=str(work / "llm-store"), GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_SERVER_PORT=str(port), KENBRON_LLM="local")
    proc = subprocess.Popen([str(BIN / "kenbron"), "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        client = None
        for _ in range(600):
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                time.sleep(0.5)
        if client is None:
            raise RuntimeError("kenbron serve did not start")
        client.predict("What did Altman say about nuclear energy?", "[]", api_name="/ask")
        # the model lives in the app's worker process: count both
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        worker = sum(peak_rss_of(int(pid)) for pid in children)
        return {"serve_peak_rss_mb": round(peak_rss_of(proc.pid) + worker, 1),
                "serve_app_peak_rss_mb": peak_rss_of(proc.pid), "serve_worker_peak_rss_mb": worker}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000",
                   help="collection sizes in chunks, comma-separated")
    p.add_argument("--server", action="store_true", help="also measure against a Chroma server")
    p.add_argument("--llm", action="store_true", help="also measure the local model and kenbron serve")
    p.add_argument("--embedders", default="use,e5,use+e5",
                   help="packaged embedders to measure on a sample ('' to skip)")
    p.add_argument("--queries", type=int, default=60, help="queries per retrieval measurement")
    p.add_argument("--llm-questions", type=int, default=6)
    p.add_argument("--work", type=Path, help="where collections are built (default DIR/work)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    out = args.out
    work = args.work or out / "work"
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}",
        "embedding": HashEmbeddings.name,
        "sizes": {},
    }
    for size in [int(s) for s in args.sizes.split(",") if s]:
        folder = work / f"corpus-{size}"
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            log(f"{size}: writing the synthetic collection")
            make_collection(folder, size)
            (folder / ".complete").touch()
        store = work / f"store-{size}"
        shutil.rmtree(store, ignore_errors=True)
        log(f"{size}: embedded Chroma")
        entry = in_child(_child, str(folder), str(store), None, 8000, args.queries)
        if args.server:
            server_path = work / f"chroma-server-{size}"
            shutil.rmtree(server_path, ignore_errors=True)
            proc, port = start_chroma(server_path)
            try:
                log(f"{size}: Chroma server on 127.0.0.1:{port}")
                entry["server"] = in_child(_child, str(folder), str(work / f"server-store-{size}"),
                                           "127.0.0.1", port, args.queries)
                entry["server"]["chroma_server_peak_rss_mb"] = peak_rss_of(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            shutil.rmtree(server_path, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)
        result["sizes"][str(size)] = entry
        log(f"{size}: {json.dumps(entry)}")
        (out / "benchmark.json").write_text(json.dumps(result, indent=2))
    if args.embedders:
        result["embedders"] = measure_embedders(work, args.embedders.split(","))
    if args.llm:
        result["llm"] = measure_llm(work, args.llm_questions, [3, 5])
        (out / "benchmark.json").write_text(json.dumps(result, indent=2))
        result["llm"].update(measure_serve(work))
    (out / "benchmark.json").write_text(json.dumps(result, indent=2))
    (out / "benchmark.md").write_text(table(result))
    if result["sizes"]:
        plot(result, out / "benchmark.png")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
