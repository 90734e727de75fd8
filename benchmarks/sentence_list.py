"""What a cheaper sentence list would cost retrieval: both dev sets ingested with fewer sentence
vectors, each variant's ingest time and tokens against hit@5 and MRR per half.

    .venv/bin/python -m benchmarks.sentence_list [--variants all,min8,min12,none] [--out DIR]

Sentence vectors are the third retrieval list (`KnowledgeBase._search` fuses dense chunks, BM25
and sentences) and what `reading.excerpts` picks from; on the realdocs corpus they are 44% of the
tokens ingest embeds. Variants, each a rule for which sentences of a chunk get a vector:

- `all`: today's rule, every sentence of three words or more (`sentence_spans_worth_a_vector`);
- `minN`: only sentences of N words or more (short lines — headings, labels, menu paths — are
  the ones left out);
- `none`: no sentence vectors; retrieval fuses the two other lists (what "sentence vectors
  computed lazily for retrieved chunks" leaves to retrieval: the reading step would embed the
  retrieved chunks' sentences at question time instead).

Retrieval is `KnowledgeBase.search` as the extractive backend calls it (no translated queries),
k = 5; the runtime is the set-up's choice for this CPU, named in the report with the CPU.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from unittest import mock

from assistant.evaluation.metrics import mean_of, normalise
from assistant.evaluation.questions import load_questions
from assistant.settings import Settings, store_config
from benchmarks.report import cpu_slug, machine, save
from vectorstore.documents import Chunk, ScoredChunk
from vectorstore.index.chunking import sentence_spans
from vectorstore.index.ingest import embedding_text
from vectorstore.index.knowledge_base import KnowledgeBase
from vectorstore.language import detect_question_language

REPO = Path(__file__).resolve().parent.parent
SETS = {"news": (REPO / "eval" / "questions.dev.jsonl", REPO / "data" / "corpus"),
        "realdocs": (REPO / "eval" / "realdocs" / "questions.dev.jsonl",
                     REPO / "eval" / "realdocs" / "corpus")}
K = 5
log = logging.getLogger("benchmarks.sentence_list")


def spans_rule(variant: str):
    """The sentences of a chunk that get a vector under `variant`."""
    min_words = 0 if variant == "none" else 3 if variant == "all" else int(variant.removeprefix("min"))

    def spans(chunk: Chunk, *_) -> list[tuple[int, int]]:
        if variant == "none":
            return []
        return [(s, e) for s, e in sentence_spans(chunk.text)
                if len(chunk.text[s:e].split()) >= min_words]
    return spans


def measure(variant: str, name: str, settings: Settings, data_dir: Path) -> dict:
    questions_path, corpus = SETS[name]
    kb = KnowledgeBase(store_config(replace(settings, data_dir=data_dir)))
    with mock.patch("vectorstore.index.ingest.sentence_spans_worth_a_vector", spans_rule(variant)):
        t0 = time.perf_counter()
        report = kb.ingest([corpus])
        seconds = time.perf_counter() - t0
    tokens = _tokens(kb, variant)
    out: dict = {"ingest_seconds": round(seconds, 1), "chunks": report.chunks_embedded, **tokens,
                 "runtime": str(getattr(kb.embeddings.encoder, "runtime", kb.embedding))}
    records = []
    for q in load_questions(questions_path):
        if not q.evidence:
            continue
        hits = kb.search(q.question, K, language=detect_question_language(q.question))
        records.append((q.split, _rank(q.evidence, hits)))
    for half in ("tune", "check"):
        ranks = [rank for split, rank in records if split == half]
        out[half] = {"questions": len(ranks),
                     "hit@5": round(sum(r is not None for r in ranks) / len(ranks), 3),
                     "mrr": round(mean_of(1 / r if r else 0.0 for r in ranks), 3)}
    return out


def _rank(evidence: list[str], hits: list[ScoredChunk]) -> int | None:
    """1-based rank of the first hit holding an evidence string (`kenbron eval`'s hit rule)."""
    wanted = [normalise(e) for e in evidence if e.strip()]
    return next((rank for rank, hit in enumerate(hits, start=1)
                 if any(e in normalise(hit.chunk.text) for e in wanted)), None)


def _tokens(kb: KnowledgeBase, variant: str) -> dict:
    """Tokens the embedder read for the stored chunks and their distinct sentences."""
    tokenizer = kb.embeddings.encoder.tokenizer
    prefix = kb.embeddings.DOCUMENT
    chunks = [c for source_id in kb.store.documents() for c in kb.store.chunks_of(source_id)]
    rule = spans_rule(variant)
    sentences = list(dict.fromkeys(c.text[s:e] for c in chunks for s, e in rule(c)))
    count = lambda texts: sum(len(e.ids) for e in tokenizer.encode_batch([prefix + t for t in texts]))  # noqa: E731
    return {"chunk_tokens": count([embedding_text(c) for c in chunks]),
            "sentences": len(sentences), "sentence_tokens": count(sentences)}


def markdown(result: dict) -> str:
    lines = [f"# A cheaper sentence list ({result['cpu']})", "",
             f"Flags: {result['cpu_flags']}", "",
             f"Embedding runtime `{result['runtime']}`; k = {K}; measured {result['measured_at']}.",
             "", "| variant | set | sentences | tokens embedded | ingest s | hit@5 tune | hit@5 check "
             "| MRR tune | MRR check |", "|---|---|---|---|---|---|---|---|---|"]
    for variant, sets in result["variants"].items():
        for name, r in sets.items():
            lines.append(
                f"| {variant} | {name} | {r['sentences']:,} | "
                f"{r['chunk_tokens'] + r['sentence_tokens']:,} | {r['ingest_seconds']} | "
                f"{r['tune']['hit@5']:.2f} | {r['check']['hit@5']:.2f} | "
                f"{r['tune']['mrr']:.3f} | {r['check']['mrr']:.3f} |")
    return "\n".join(lines + [""])


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="all,min8,min12,none")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    settings = Settings.from_env()
    result = {**machine(), "measured_at": time.strftime("%Y-%m-%d %H:%M"),
              "variants": {}}
    for variant in args.variants.split(","):
        result["variants"][variant] = {}
        for name in SETS:
            with tempfile.TemporaryDirectory(prefix="kenbron-sentences-") as tmp:
                log.info("%s: %s …", variant, name)
                result["variants"][variant][name] = r = measure(variant, name, settings, Path(tmp))
                result["runtime"] = r.pop("runtime")
                log.info("%s", r)
    save(args.out, f"sentence_list-{cpu_slug()}", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
