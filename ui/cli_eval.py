"""`kenbron eval`: a question set through the assistant, its report, an optional judge and a
quality gate."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.settings import Settings
from ui.cli_common import CliError, ingest_with_progress, knowledge_base, progress_bar, settings_from

if TYPE_CHECKING:
    from assistant.evaluation.metrics import Metrics
    from assistant.evaluation.records import EvalRecord


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluation.questions import QuestionSetError, load_questions
    from assistant.evaluation.report import Report
    from assistant.evaluation.run import (
        compare,
        evaluate,
        markdown_report,
        ragas_samples,
        report_json,
        write_outputs,
    )
    from assistant.models.llm import LLMError
    from assistant.pipeline.chain import Assistant

    settings = settings_from(args)
    if args.export and args.export[0] != "ragas":
        raise CliError(f"unknown export format {args.export[0]!r}; supported: ragas", status=2)
    try:
        questions = load_questions(args.questions)
        old = (Report.from_dict(json.loads(args.compare.read_text(encoding="utf-8")))
               if args.compare else None)
        gate = json.loads(args.gate.read_text(encoding="utf-8")) if args.gate else None
    except QuestionSetError as exc:
        raise CliError(str(exc), status=2) from exc
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise CliError(f"cannot read {exc}", status=2) from exc
    if args.corpus:
        # the question set's own documents (idempotent: unchanged files are skipped)
        ingested = ingest_with_progress(knowledge_base(settings), [args.corpus])
        for path, reason in ingested.rejected:
            print(f"  rejected {path}: {reason}", file=sys.stderr)
    try:
        assistant = Assistant(settings)
    except LLMError as exc:
        raise CliError(str(exc)) from exc
    with progress_bar(total=len(questions), unit="question", desc="eval") as bar:
        records, report = evaluate(assistant, questions,
                                   progress=lambda done, total: bar.update(done - bar.n))
    if args.judge is not None:
        records, report.judge = run_judge(args, settings, assistant, records)
    comparison = compare(report, old) if old else None
    if args.out:
        write_outputs(args.out, records, report, comparison)
    if args.export:
        path = Path(args.export[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n"
                                for s in ragas_samples(records)), encoding="utf-8")
    if args.json:
        print(report_json(report, comparison), end="")
    else:
        text = markdown_report(report, records, comparison)
        print(text.split("## By category")[0].rstrip())
        if args.out:
            print(f"\nwrote {args.out}/ (results.jsonl, report.json, report.md, charts)")
    if gate:
        failed = check_gate(report.overall, gate)
        for line in failed:
            print(f"quality gate: {line}", file=sys.stderr)
        if failed:
            return 3
    return 0


def run_judge(args: argparse.Namespace, settings: Settings, assistant,
              records: list[EvalRecord]) -> tuple[list[EvalRecord], dict]:
    """The records scored by the judge model, and the report's separate `judge` section."""
    from dataclasses import replace

    from assistant.evaluation.judge import Judge, judge_records, judge_report
    from assistant.models.llm import LLMError, make_chat_model, model_label
    
    url = args.judge or settings.openai_base_url
    if not url and not settings.openai_api_key:
        raise CliError("--judge needs a URL (--judge URL or OPENAI_BASE_URL) or OPENAI_API_KEY",
                       status=2)
    judge_settings = replace(settings, backend="compatible" if url else "openai",
                             openai_base_url=url or None,
                             model=args.judge_model or settings.model)
    try:
        chat = make_chat_model(judge_settings)
    except LLMError as exc:
        raise CliError(str(exc)) from exc
    label = model_label(judge_settings, chat)
    judge = Judge(chat, assistant.embed, label)
    with progress_bar(total=len(records), unit="answer", desc="judge") as bar:
        records = judge_records(judge, records,
                                progress=lambda done, total: bar.update(done - bar.n))
    return records, judge_report(records, label)


def check_gate(overall: Metrics, gate: dict) -> list[str]:
    """Failures of the overall metrics against {"min": {...}, "max": {...}}."""
    failed = []
    for metric, bound in gate.get("min", {}).items():
        value = overall.rate(metric)
        if value is None or value < bound:
            failed.append(f"{metric} = {value} is below the minimum {bound}")
    for metric, bound in gate.get("max", {}).items():
        value = overall.rate(metric)
        if value is None or value > bound:
            failed.append(f"{metric} = {value} is above the maximum {bound}")
    return failed
