"""Ingest speed on the realdocs corpus: `kenbron ingest` end to end against the embedder alone.

    .venv/bin/python -m benchmarks.ingest_speed [--corpus eval/realdocs/corpus] [--out DIR]
        [--runtime auto|onnxruntime-f32|openvino-f32|openvino-bf16]

Measures, with the default settings (embedding `auto`, chunking as configured) and the embedder
on `--runtime` (`vectorstore.index.gemma_runtime`; `auto` is what the set-up chose for this CPU):

- `kenbron ingest` of the corpus into a fresh data directory, in a child process, wall clock:
  chunks/s and model tokens/s (the tokens of every embedded chunk text, prompt included);
- the embedder alone on exactly what ingest embeds (chunks and their distinct sentences, as
  `vectorstore.index.ingest.embed_chunks` does);
- query-embedding latency over the corpus's dev questions (p50, p95).

The end-to-end rate over the embedder's own is the share of the machine's limit that ingest
reaches. Writes DIR/ingest_speed-CPU-RUNTIME.json and .md; the report names the CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.evaluation.metrics import percentile
from assistant.settings import VARIABLES, Settings
from benchmarks.report import cpu_slug, machine, save
from vectorstore.defaults import AUTO as RUNTIME_AUTO
from vectorstore.index.chunking import chunk_document
from vectorstore.index.embeddings import make_embeddings, resolve_embedding
from vectorstore.index.ingest import discover, embed_chunks, embedding_text, sentence_spans_worth_a_vector
from vectorstore.readers.loaders import load_file

REPO = Path(__file__).resolve().parent.parent
log = logging.getLogger("benchmarks.ingest_speed")


def end_to_end(corpus: Path, data_dir: Path, runtime: str) -> dict:
    t0 = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "kenbron"), "ingest", str(corpus),
                           "--data-dir", str(data_dir), "--json"],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, VARIABLES["embedding_runtime"]: runtime})
    seconds = time.perf_counter() - t0
    report = json.loads(done.stdout)
    return {"seconds": round(seconds, 1), "chunks": report["chunks_embedded"],
            "documents": len(report["added"]), "rejected": len(report["rejected"])}


def embedder_alone(corpus: Path, settings: Settings) -> dict:
    name = resolve_embedding(settings.embedding, None, settings.embedding_model_dir)
    emb = make_embeddings(name, model_dir=settings.embedding_model_dir,
                          runtime=settings.embedding_runtime)
    chunks = [c for path, source_id, reason in discover([corpus]) if reason is None
              for c in chunk_document(load_file(path, source_id=source_id),
                                      settings.chunk_tokens, settings.chunk_overlap)]
    spans = [sentence_spans_worth_a_vector(c) for c in chunks]
    emb.embed_query("warm up")
    t0 = time.perf_counter()
    embed_chunks(emb, chunks, spans)
    seconds = time.perf_counter() - t0
    sentences = [c.text[s:e] for c, row in zip(chunks, spans, strict=True) for s, e in row]
    distinct = list(dict.fromkeys(sentences))
    encoder = getattr(emb, "encoder", None)
    out = {"embedding": name, "runtime": getattr(encoder, "runtime", None),
           "threads": getattr(emb, "threads", None), "chunks": len(chunks),
           "sentences": len(sentences), "distinct_sentences": len(distinct),
           "seconds": round(seconds, 1)}
    tokenizer = getattr(encoder, "tokenizer", None)
    if tokenizer is not None:
        out["tokens"] = sum(len(e.ids) for e in tokenizer.encode_batch(
            [emb.DOCUMENT + t for t in [embedding_text(c) for c in chunks] + distinct]))
    questions = [json.loads(line)["question"] for line in
                 (corpus.parent / "questions.dev.jsonl").read_text().splitlines() if line.strip()]
    latencies = []
    for q in questions:
        t = time.perf_counter()
        emb.embed_query(q)
        latencies.append((time.perf_counter() - t) * 1000)
    out["query_ms"] = {"p50": round(percentile(latencies, 50), 1),
                       "p95": round(percentile(latencies, 95), 1), "n": len(latencies)}
    return out


def markdown(r: dict) -> str:
    e2e, alone = r["end_to_end"], r["embedder"]
    tokens = alone.get("tokens")

    def rate(seconds: float) -> str:
        per_s = f"{alone['chunks'] / seconds:.1f} chunks/s"
        return per_s + (f", {tokens / seconds:,.0f} tokens/s" if tokens else "")

    return "\n".join([
        f"# Ingest speed ({r['cpu']}, {r['threads']} threads)", "",
        f"Flags: {r['cpu_flags']}", "",
        f"Corpus `{r['corpus']}`: {e2e['documents']} documents, {alone['chunks']} chunks, "
        f"{alone['sentences']} sentence vectors ({alone['distinct_sentences']} distinct sentences "
        f"embedded); embedding `{alone['embedding']}` on `{alone['runtime']}`; "
        f"measured {r['measured_at']}.", "",
        "| | seconds | rate |", "|---|---|---|",
        f"| `kenbron ingest`, end to end | {e2e['seconds']} | {rate(e2e['seconds'])} |",
        f"| the embedder alone on the same chunks and sentences | "
        f"{alone['seconds']} | {rate(alone['seconds'])} |",
        "",
        f"End to end reaches {alone['seconds'] / e2e['seconds']:.2f} of the embedder's own rate. "
        f"Query embedding: p50 {alone['query_ms']['p50']} ms, p95 {alone['query_ms']['p95']} ms "
        f"over {alone['query_ms']['n']} questions.", ""])


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "eval" / "realdocs" / "corpus")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--runtime", default=RUNTIME_AUTO,
                        help="what runs the gemma embedder (default: the set-up's choice)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="keep the ingested store here (e.g. for `kenbron eval --data-dir`)")
    args = parser.parse_args()
    settings = Settings.from_env(embedding_runtime=args.runtime)
    log.info("kenbron ingest %s …", args.corpus)
    with tempfile.TemporaryDirectory(prefix="kenbron-ingest-bench-") as tmp:
        e2e = end_to_end(args.corpus, args.data_dir or Path(tmp), args.runtime)
    log.info("the embedder alone on the same chunks …")
    alone = embedder_alone(args.corpus, settings)
    result = {**machine(), "threads": alone.pop("threads"), "corpus": str(args.corpus.relative_to(REPO)),
              "measured_at": time.strftime("%Y-%m-%d %H:%M"), "end_to_end": e2e, "embedder": alone}
    save(args.out, f"ingest_speed-{cpu_slug()}-{alone['runtime'] or alone['embedding']}", result,
         markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
