"""The tables and the chart of `benchmarks/run.py`'s result (benchmark.md, benchmark.png)."""

from __future__ import annotations

from pathlib import Path


def table(result: dict) -> str:
    lines = ["| chunks | mode | ingest chunks/s | embedder chunks/s | share | re-ingest s | add one s "
             "| peak RSS MB | raw p50/p95 | dense p50/p95 | bm25 p50/p95 | hybrid p50/p95 |",
             "|" + "---|" * 12]
    for size, entry in result["sizes"].items():
        for mode, r in (("embedded", entry), ("server", entry.get("server"))):
            if not r:
                continue
            ms = r["retrieval_ms"]
            cells = [f"{ms[n]['p50']:.1f} / {ms[n]['p95']:.1f}" for n in
                     ("chroma_raw", "dense", "bm25", "hybrid")]
            lines.append(
                f"| {r['chunks']} ({size}) | {mode} | {r['ingest_chunks_per_s']} | "
                f"{r['embed_only_chunks_per_s']} | {r['pipeline_share_of_embedder']} | "
                f"{r['reingest_unchanged_s']} | {r['add_one_doc_s']} | {r['peak_rss_mb']} | "
                + " | ".join(cells) + " |")
    parts = ["# Kenbron benchmark", "", f"Machine: {result['machine']}", "", *lines]
    if result.get("embedders"):
        parts += ["", "## Packaged embedders (sample)", "",
                  "| model | embedder chunks/s | ingest chunks/s | share | query p50 ms |",
                  "|---|---|---|---|---|"]
        for name, e in result["embedders"].items():
            parts.append(f"| {name} | {e['embed_only_chunks_per_s']} | {e['ingest_chunks_per_s']} "
                         f"| {e['pipeline_share_of_embedder']} | {e['query_embedding_ms']['p50']} |")
    if result.get("llm"):
        llm = result["llm"]
        parts += ["", f"## Local model ({llm['model']}, {llm['threads']} threads, prompt "
                  f"{llm['prompt_tokens_per_s']} tokens/s, generation {llm['generation_tokens_per_s']} "
                  "tokens/s)", "", "| k | sources p50 ms | first token p50 / p95 ms |", "|---|---|---|"]
        for k in ("k3", "k5"):
            if k in llm:
                e = llm[k]
                ft = e["first_token_ms"] or {"p50": "-", "p95": "-"}
                parts.append(f"| {k[1:]} | {e['time_to_sources_ms']['p50']} | {ft['p50']} / {ft['p95']} |")
        if "serve_peak_rss_mb" in llm:
            parts.append(f"\n`kenbron serve` peak RSS with the local model: {llm['serve_peak_rss_mb']} MB")
    return "\n".join(parts) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = list(result["sizes"])
    xs = [result["sizes"][s]["chunks"] for s in sizes]
    for mode, style in (("embedded", "-"), ("server", "--")):
        for name, colour in (("chroma_raw", "grey"), ("dense", "tab:blue"), ("bm25", "tab:orange"),
                             ("hybrid", "tab:green")):
            entries = [result["sizes"][s] if mode == "embedded" else result["sizes"][s].get("server")
                       for s in sizes]
            if not all(entries):
                continue
            ax1.plot(xs, [e["retrieval_ms"][name]["p95"] for e in entries], style, marker="o",
                     color=colour, label=f"{name} ({mode})")
    ax1.set_xscale("log")
    ax1.set_xlabel("chunks")
    ax1.set_ylabel("p95 latency (ms)")
    ax1.set_title("Retrieval latency")
    ax1.legend(fontsize=7)
    ax2.plot(xs, [result["sizes"][s]["ingest_chunks_per_s"] for s in sizes], marker="o",
             label="ingest end to end")
    ax2.plot(xs, [result["sizes"][s]["embed_only_chunks_per_s"] for s in sizes], marker="o",
             label="embedder alone")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("chunks")
    ax2.set_ylabel("chunks/s")
    ax2.set_title("Ingestion throughput (hashing embedder)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
