"""`kenbron eval`: run a question set through the `Assistant` and write results, report, charts.

Outputs (with `--out DIR`): `results.jsonl` (one record per question, everything the metrics
need), `report.json` (see `assistant.evaluation.report`), `report.md` (figures, definitions, failures
question by question) and PNG charts. Files are written to a temporary name and renamed, so a
crashed run never leaves a half-written report next to an old one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.evaluation.budget import GAINS, STAGES
from assistant.evaluation.metrics import DEFINITIONS, RATES, hit_rank, satisfies_must_include
from assistant.evaluation.questions import Question
from assistant.evaluation.records import EvalRecord
from assistant.evaluation.report import Report


def run_questions(assistant, questions: Sequence[Question], k: int,
                  progress: Callable[[int, int], None] | None = None) -> list[EvalRecord]:
    records = []
    for i, question in enumerate(questions):
        records.append(EvalRecord.of(question, assistant.ask(question.question, k=k)))
        if progress:
            progress(i + 1, len(questions))
    return records


def evaluate(assistant, questions: Sequence[Question], out_dir: Path | None = None,
             progress: Callable[[int, int], None] | None = None) -> tuple[list[EvalRecord], Report]:
    """Run a question set through `assistant`: (result records, report); written to `out_dir`
    (results.jsonl, report.json, report.md, charts) when given. The CLI and the app both use it."""
    from assistant import __version__
    from assistant.evaluation.report import build_report
    from assistant.models.llm import model_label

    settings = assistant.settings
    records = run_questions(assistant, questions, settings.k, progress)
    report = build_report(records, settings.k,
                          config_of(settings, model_label(settings, assistant.chat), __version__,
                                    assistant.kb.embedding))
    if out_dir is not None:
        write_outputs(out_dir, records, report)
    return records, report


def config_of(settings, model: str, version: str, embedding: str) -> dict[str, Any]:
    return {
        "version": version,
        "backend": settings.backend,
        "model": model,
        "embedding": embedding,
        "k": settings.k,
        "chunking": f"{settings.chunk_tokens} tokens, overlap {settings.chunk_overlap}",
        "retrieval": f"hybrid: dense chunk + dense sentence + BM25, RRF k={settings.rrf_k}",
        "translate_queries": settings.should_translate,
        "evidence_sentences": settings.evidence_sentences,
        "quote_answers": settings.should_quote,
    }


def compare(report: Report, old: Report) -> dict[str, dict[str, float | None]]:
    """Per rate (overall): old, new, and the change."""
    out = {}
    for key in RATES:
        new_v, old_v = report.overall.rate(key), old.overall.rate(key)
        delta = round(new_v - old_v, 4) if new_v is not None and old_v is not None else None
        out[key] = {"old": old_v, "new": new_v, "delta": delta}
    return out


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_report(report: Report, records: Sequence[EvalRecord],
                    comparison: dict | None = None) -> str:
    k = report.overall.k
    lines = ["# Kenbron evaluation report", "", "## Configuration", ""]
    lines += [f"- **{key}**: {value}" for key, value in report.config.items()]
    lines += ["", "## Overall", "", "| metric | value |", "|---|---|"]
    lines += [f"| {key} | {_fmt(report.overall.rate(key))} |" for key in RATES]
    lines += [f"| latency {name} p50 / p95 (ms) | {_fmt(v.p50)} / {_fmt(v.p95)} |"
              for name, v in report.overall.latency_ms.items()]
    lines.append(f"| errors | {report.overall.errors} |")
    if comparison:
        lines += ["", "## Change against the previous report", "", "| metric | old | new | change |",
                  "|---|---|---|---|"]
        lines += [f"| {key} | {_fmt(v['old'])} | {_fmt(v['new'])} | {_fmt(v['delta'])} |"
                  for key, v in comparison.items()]
    for title, key in (("By dev-set half", "by_split"), ("By category", "by_category"),
                       ("By language", "by_language")):
        slices = getattr(report, key)
        lines += ["", f"## {title}", "", "| metric | " + " | ".join(slices) + " |",
                  "|---|" + "---|" * len(slices)]
        lines.append("| questions | " + " | ".join(str(s.questions) for s in slices.values()) + " |")
        for metric in RATES:
            lines.append(f"| {metric} | " + " | ".join(_fmt(s.rate(metric)) for s in slices.values())
                         + " |")
    if report.budget:
        halves = list(report.budget)
        lines += ["", "## Error budget", "",
                  "Per question, the stage that decided its outcome:", "",
                  "| stage | " + " | ".join(halves) + " |", "|---|" + "---|" * len(halves)]
        for stage in budget_stages(report.budget.values()):
            lines.append(f"| {stage} | " + " | ".join(
                str(report.budget[h].get(stage, 0)) for h in halves) + " |")
    curve = report.risk_coverage
    if any(curve.values()):
        lines += ["", "## Risk–coverage", "",
                  "\"Not sure\" on every answer whose confidence is below a threshold (the "
                  "operating point is `abstention.NOT_SURE_BELOW`): share of questions answered, "
                  "share of those answers wrong, abstention on unanswerable, wrong abstention:", "",
                  "| threshold | " + " | ".join(curve) + " |", "|---|" + "---|" * len(curve)]
        for i, point in enumerate(next(iter(curve.values()))):
            cells = [f"{_fmt(c[i].coverage)} / {_fmt(c[i].risk)} / "
                     f"{_fmt(c[i].abstention_unanswerable)} / {_fmt(c[i].wrong_abstention)}"
                     for c in curve.values()]
            lines.append(f"| {point.threshold} | " + " | ".join(cells) + " |")
    if report.judge:
        judge = report.judge
        lines += ["", f"## LLM judge ({judge['model']}; not deterministic)", "",
                  "| slice | judged | faithfulness | answer relevance |", "|---|---|---|---|"]
        for name, row in [("overall", judge["overall"]), *judge["by_language"].items()]:
            lines.append(f"| {name} | {row['judged']} | {_fmt(row['faithfulness'])} | "
                         f"{_fmt(row['answer_relevance'])} |")
        lines += [f"- **{key}**: {text}" for key, text in judge["definitions"].items()]
    lines += ["", "## Definitions", ""]
    lines += [f"- **{key}**: {text}" for key, text in DEFINITIONS.items()]
    lines += ["", "## Failures", ""]
    failures = [r for r in records if _problems(r, k)]
    if not failures:
        lines.append("None.")
    for r in failures:
        lines += [f"### {r.asked.id} ({r.asked.category}, {r.asked.language}): {r.asked.question}", ""]
        lines += [f"- problem: {p}" for p in _problems(r, k)]
        lines.append(f"- expected: {r.asked.reference_answer or '(abstain)'}; sources "
                     f"{', '.join(r.asked.sources) or '-'}")
        lines.append("- retrieved: " + "; ".join(
            f"{c.rank}. {c.source_id} ({c.chunk_id})" for c in r.retrieved[:k]))
        lines.append(f"- answered: {' '.join((r.answer or '').split())}")
        lines.append("")
    return "\n".join(lines) + "\n"


def _problems(record: EvalRecord, k: int) -> list[str]:
    problems = []
    if record.error:
        problems.append(f"error: {record.error}")
    if record.asked.answerable:
        if record.asked.evidence and hit_rank(record, k) is None:
            problems.append(f"no evidence-bearing chunk in the top {k}")
        if record.abstained:
            problems.append("abstained on an answerable question")
        elif record.asked.must_include and not satisfies_must_include(record.answer or "",
                                                                 record.asked.must_include):
            problems.append("answer lacks a required element: " + " / ".join(
                "|".join(g) for g in record.asked.must_include))
    elif not record.abstained:
        problems.append("answered an unanswerable question instead of abstaining")
    return problems


def report_json(report: Report, comparison: dict | None = None) -> str:
    """report.json's text: the report, and its comparison with an older one when made."""
    data = {**report.to_dict(), **({"comparison": comparison} if comparison else {})}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_outputs(out_dir: Path, records: Sequence[EvalRecord], report: Report,
                  comparison: dict | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    contents = {
        "results.jsonl": "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n"
                                 for r in records),
        "report.json": report_json(report, comparison),
        "report.md": markdown_report(report, records, comparison),
    }
    written = []
    for name, text in contents.items():
        written.append(_atomic_write(out_dir / name, text.encode("utf-8")))
    from assistant.evaluation.charts import write_charts

    written += write_charts(report, records, out_dir)
    return written


def _atomic_write(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path


def ragas_samples(records: Sequence[EvalRecord]) -> list[dict]:
    """RAGAS single-turn samples (user_input, retrieved_contexts, response, reference, ...)."""
    return [{"user_input": r.asked.question,
             "retrieved_contexts": [c.text for c in r.retrieved],
             "response": r.answer or "",
             "reference": r.asked.reference_answer or "",
             "reference_contexts": list(r.asked.evidence)} for r in records]




def halves_table(reports: dict[str, Report]) -> str:
    """Dev sets side by side, each by half (tune / check): the one table every change is judged
    on, so a gain on one set or one half cannot hide a loss on the other."""
    columns = [(name, half) for name, report in reports.items()
               for half in ("tune", "check") if half in report.by_split]
    lines = ["| metric | " + " | ".join(f"{name} {half}" for name, half in columns) + " |",
             "|---|" + "---|" * len(columns)]
    lines.append("| questions | " + " | ".join(
        str(reports[name].by_split[half].questions) for name, half in columns) + " |")
    for metric in RATES:
        lines.append(f"| {metric} | " + " | ".join(
            _fmt(reports[name].by_split[half].rate(metric)) for name, half in columns) + " |")
    for stage in ("first_token", "total"):
        lines.append(f"| {stage} p50 (ms) | " + " | ".join(
            _fmt(reports[name].by_split[half].latency_ms[stage].p50)
            for name, half in columns) + " |")
    budgets = [reports[name].budget.get(half, {}) for name, half in columns]
    for stage in budget_stages(budgets):
        lines.append(f"| budget: {stage} | " + " | ".join(
            str(b.get(stage, 0)) for b in budgets) + " |")
    return "\n".join(lines) + "\n"


def budget_stages(budgets) -> list[str]:
    """The error budget's stages that occur in any of `budgets`, in the pipeline's order."""
    present = {stage for budget in budgets for stage in budget}
    return [stage for stage in (*STAGES, *GAINS) if stage in present]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m assistant.evaluation.run DIR`: the halves table of DIR/*/report.json, written to
    DIR/summary.md (scripts/eval-dev-sets runs it after both dev sets)."""
    import sys

    root = Path((argv or sys.argv[1:])[0])
    reports = {path.parent.name: Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
               for path in sorted(root.glob("*/report.json"))}
    if not reports:
        raise SystemExit(f"no */report.json under {root}")
    config = next(iter(reports.values())).config
    text = (f"# Dev sets by half\n\nbackend {config['backend']} ({config['model']}), embedding "
            f"{config['embedding']}, k = {config['k']}\n\n" + halves_table(reports))
    _atomic_write(root / "summary.md", text.encode("utf-8"))
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
