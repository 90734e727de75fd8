"""How close the local model's first answer token comes to what this machine allows.

    .venv/bin/python benchmarks/first_token.py [--questions eval/questions.dev.jsonl] --out DIR

For every question of the set that reaches the model, it records the retrieval time, the prompt
tokens the model actually had to process (llama.cpp reuses the cached prefix — rules and worked
examples — so only the rest counts; read from the worker's own log line "prefix-match hit,
remaining N prompt tokens"), and the time to the first answer token. The machine's prompt
throughput is measured by the same child-process smoke test set-up runs. The limit for a
question is retrieval time + new prompt tokens / prompt throughput; the figure of merit is the
ratio of first-token time to that limit (1.0 = nothing but necessary work).

Writes DIR/first_token.json and DIR/first_token.md. Uses the store and settings of the
environment (scripts/setup has ingested the bundled corpus there). One warm-up question first, so
that the cached prefix is in place as it is in a running app.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.evaluation.metrics import percentile  # noqa: E402
from assistant.models.llm import local_worker  # noqa: E402
from assistant.pipeline.chain import Assistant  # noqa: E402
from assistant.provisioning.llama_build import smoke_test  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from benchmarks.report import save  # noqa: E402
from vectorstore.cpu import cpu_flags, cpu_model  # noqa: E402

_REMAINING = re.compile(r"prefix-match hit, remaining (\d+) prompt tokens")
_FULL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")


def new_prompt_tokens(log_text: str) -> int | None:
    """Prompt tokens evaluated for the requests in `log_text` (the worker's log since a mark)."""
    counts = [int(m) for m in _REMAINING.findall(log_text)]
    if counts:
        return sum(counts)
    full = [int(m) for m in _FULL.findall(log_text)]
    return sum(full) if full else None


def run(questions: list[dict], settings: Settings) -> dict:
    assistant = Assistant(settings)
    worker = local_worker(settings)
    assistant.ask("Waar gaat deze verzameling over?")  # warm-up: the worker starts, the prefix is cached
    rows = []
    for q in questions:
        mark = worker.log_path.stat().st_size
        answer = assistant.ask(q["question"])
        with worker.log_path.open("rb") as handle:
            handle.seek(mark)
            log_text = handle.read().decode(errors="replace")
        first = answer.timings.first_token_ms
        reached_model = answer.model_called and answer.error is None
        rows.append({"id": q["id"], "retrieval_ms": answer.timings.retrieval_ms,
                     "first_token_ms": first if reached_model else None,
                     "new_prompt_tokens": new_prompt_tokens(log_text) if reached_model else None,
                     "total_ms": answer.timings.total_ms, "error": answer.error})
        print(f"{q['id']}: {rows[-1]}", file=sys.stderr, flush=True)
    return {"rows": rows}


def summarise(rows: list[dict], prompt_rate: float) -> dict:
    timed = [r for r in rows if r["first_token_ms"] is not None and r["new_prompt_tokens"] is not None]
    for r in timed:
        r["limit_ms"] = round(r["retrieval_ms"] + 1000 * r["new_prompt_tokens"] / prompt_rate, 1)
        r["ratio"] = round(r["first_token_ms"] / r["limit_ms"], 3)

    def p(key: str, q: float) -> float:
        return round(percentile([r[key] for r in timed], q), 1)

    return {
        "questions": len(rows), "reached_model": len(timed),
        "prompt_tokens_per_s": prompt_rate,
        "new_prompt_tokens": {"p50": p("new_prompt_tokens", 50), "p95": p("new_prompt_tokens", 95)},
        "retrieval_ms": {"p50": p("retrieval_ms", 50), "p95": p("retrieval_ms", 95)},
        "first_token_ms": {"p50": p("first_token_ms", 50), "p95": p("first_token_ms", 95)},
        "limit_ms": {"p50": p("limit_ms", 50), "p95": p("limit_ms", 95)},
        "ratio_p50_to_limit_p50": round(p("first_token_ms", 50) / p("limit_ms", 50), 3),
        "ratio": {"p50": round(percentile([r["ratio"] for r in timed], 50), 3),
                  "p95": round(percentile([r["ratio"] for r in timed], 95), 3)},
    }


def markdown(result: dict) -> str:
    s = result["summary"]
    lines = [f"# First token against the machine's limit ({result['cpu']})", "",
             f"Flags: {result['cpu_flags']}", "",
             f"llama.cpp build: {result['build']}; prompt throughput {s['prompt_tokens_per_s']} tokens/s, "
             f"generation {result['generation_tokens_per_s']} tokens/s ({result['threads']} threads)", "",
             "| | p50 | p95 |", "|---|---|---|"]
    for key in ("retrieval_ms", "new_prompt_tokens", "limit_ms", "first_token_ms", "ratio"):
        lines.append(f"| {key} | {s[key]['p50']} | {s[key]['p95']} |")
    lines += ["", f"first token p50 / limit p50 = {s['ratio_p50_to_limit_p50']} "
              f"({s['reached_model']} of {s['questions']} questions reached the model)", "",
              "| id | retrieval ms | new prompt tokens | limit ms | first token ms | ratio |",
              "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        if "ratio" in r:
            lines.append(f"| {r['id']} | {r['retrieval_ms']} | {r['new_prompt_tokens']} | {r['limit_ms']} "
                         f"| {r['first_token_ms']} | {r['ratio']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=REPO / "eval" / "questions.dev.jsonl")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings.from_env(backend="local")
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    questions = questions[:args.limit] if args.limit else questions
    speed = smoke_test(settings.model_path, settings.llm_threads)
    result = run(questions, settings)
    local_worker(settings).stop()
    # measured again after the run, and the better of the two kept: the machine is shared
    again = smoke_test(settings.model_path, settings.llm_threads)
    rate = max(speed["prompt_tokens_per_s"], again["prompt_tokens_per_s"])
    from assistant.provisioning.llama_build import read_record

    record = read_record() or {}
    result.update(cpu=cpu_model(), cpu_flags=" ".join(sorted(cpu_flags())), threads=settings.llm_threads,
                  build=f"{record.get('tier')} ({record.get('cmake_args')})",
                  generation_tokens_per_s=max(speed["generation_tokens_per_s"],
                                              again["generation_tokens_per_s"]),
                  summary=summarise(result["rows"], rate), measured_at=time.strftime("%Y-%m-%d %H:%M"))
    save(args.out, "first_token", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
