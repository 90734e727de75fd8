"""`kenbron` command line: a thin layer over the library API (see DESIGN's command contract).

Longer than 300 lines on purpose: each command's flags (`build_parser`) and its handler
(`cmd_*`) are read together, and the eight commands share the settings, error and exit-status
rules written once here.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.settings import BACKENDS, Settings, apply_process_defaults, store_config

if TYPE_CHECKING:
    from assistant.evaluation.metrics import Metrics
    from assistant.evaluation.records import EvalRecord

apply_process_defaults()


class CliError(Exception):
    """An error to print as one line, with exit status 2 (usage) or 1 (failure)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the embedded Chroma database and lexical index live "
                             "(env KENBRON_DATA_DIR)")
    parser.add_argument("--embedding", default=None,
                        help="embedding model: auto (default), gemma, use, e5, use+e5 or openai:MODEL "
                             "(env KENBRON_EMBEDDING)")
    parser.add_argument("--collection", default=None, help="Chroma collection (env KENBRON_COLLECTION)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kenbron",
        description="Grounded answers from your documents, with every claim linked to its passage.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what happens (-v: steps, -vv: debug detail)")
    sub = parser.add_subparsers(dest="command", required=True)

    _add_corpus_commands(sub)
    _add_answer_commands(sub)
    return parser


def _add_corpus_commands(sub) -> None:
    """Commands on the document collection: ingest, sources, remove, search."""
    p = sub.add_parser("ingest", help="add files or folders (idempotent)")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--replace", action="store_true",
                   help="let a file replace an ingested document of the same name from another path")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _common(p)

    p = sub.add_parser("sources", help="list ingested documents")
    p.add_argument("--json", action="store_true")
    _common(p)

    p = sub.add_parser("remove", help="remove a document and all its chunks")
    p.add_argument("source_id")
    _common(p)

    p = sub.add_parser("search", help="ranked chunks for a question (no LLM)")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="number of chunks (default 5)")
    p.add_argument("--json", action="store_true")
    _common(p)



def _add_answer_commands(sub) -> None:
    """Commands that answer or judge answers: ask, serve, doctor, eval."""
    p = sub.add_parser("ask", help="answer a question with cited sources")
    p.add_argument("question")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="local, openai, compatible or extractive (env KENBRON_LLM)")
    p.add_argument("--model", default=None, help="model name for openai/compatible (env KENBRON_LLM_MODEL)")
    p.add_argument("-k", type=int, default=None, help="number of sources given to the model")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    _common(p)

    p = sub.add_parser("serve", help="start the Gradio app and the OpenAI-compatible /v1 API "
                                    "(http://127.0.0.1:7860)")
    p.add_argument("--host", default=None, help="env GRADIO_SERVER_NAME (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="env GRADIO_SERVER_PORT (default 7860)")
    p.add_argument("--backend", choices=BACKENDS, default=None)
    p.add_argument("--model", default=None)
    p.add_argument("-k", type=int, default=None)
    _common(p)

    p = sub.add_parser("doctor", help="can this machine run Kenbron, and how fast? (exit 1 if not)")
    p.add_argument("--backend", choices=BACKENDS, default=None)
    p.add_argument("--no-measure", action="store_true", help="skip measuring the local model's speed")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    _common(p)

    p = sub.add_parser("eval", help="evaluate on a question set (JSONL, see eval/FORMAT.md)")
    p.add_argument("--questions", type=Path, required=True)
    p.add_argument("--corpus", type=Path, default=None,
                   help="the question set's documents: ingested into --data-dir first (skipped "
                        "when unchanged); use a data dir of its own per question set")
    p.add_argument("--backend", choices=BACKENDS, default=None)
    p.add_argument("--model", default=None)
    p.add_argument("-k", type=int, default=None, help="chunks retrieved per question (default 5)")
    p.add_argument("--out", type=Path, default=None,
                   help="write results.jsonl, report.json, report.md and charts here")
    p.add_argument("--json", action="store_true", help="print report.json")
    p.add_argument("--compare", type=Path, default=None, help="an older report.json to compare with")
    p.add_argument("--export", nargs=2, metavar=("FORMAT", "FILE"),
                   help="also export the results; FORMAT: ragas (single-turn samples, JSONL)")
    p.add_argument("--gate", type=Path, default=None,
                   help="thresholds JSON; exit 3 when an overall metric is below its minimum "
                        "(or above its maximum)")
    p.add_argument("--judge", nargs="?", const="", default=None, metavar="URL",
                   help="also score faithfulness and answer relevance with an LLM judge at an "
                        "OpenAI-compatible URL (default OPENAI_BASE_URL, or OpenAI with "
                        "OPENAI_API_KEY)")
    p.add_argument("--judge-model", default=None, help="the judge's model name")
    _common(p)


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return Settings.from_env(
            data_dir=getattr(args, "data_dir", None),
            embedding=getattr(args, "embedding", None),
            collection=getattr(args, "collection", None),
            k=getattr(args, "k", None),
            backend=getattr(args, "backend", None),
            model=getattr(args, "model", None),
        )
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc), status=2) from exc


def _knowledge_base(settings: Settings):
    from vectorstore.knowledge_base import KnowledgeBase

    return KnowledgeBase(store_config(settings))


def cmd_ingest(args: argparse.Namespace) -> int:
    report = _ingest(_knowledge_base(_settings(args)), args.paths, args.replace, quiet=args.json)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"added {len(report.added)}, updated {len(report.updated)}, "
              f"unchanged {len(report.skipped)}, rejected {len(report.rejected)} "
              f"({report.chunks_embedded} chunks embedded)")
        for path, reason in report.rejected:
            print(f"  rejected {path}: {reason}", file=sys.stderr)
    return 0 if report.ok else 1


class _LogLines:
    """Progress where stderr is no terminal (a log file, CI, a container's log): each refresh of
    a bar becomes a line of its own instead of a redraw with carriage returns."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\x1b[A", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def _progress_bar(**options):
    """A tqdm bar on stderr: redrawn on a terminal, else a line every 30 seconds at most."""
    from tqdm import tqdm

    if sys.stderr.isatty():
        return tqdm(file=sys.stderr, **options)
    return tqdm(file=_LogLines(sys.stderr), mininterval=30, maxinterval=30, ascii=True, **options)


def _ingest(kb, paths: list, replace: bool = False, quiet: bool = False):
    """Ingest with progress bars on stderr (files, then chunks per batch)."""
    bars: dict = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            unit = "file" if stage == "files" else "chunk"
            bar = bars[stage] = _progress_bar(total=total, unit=unit, desc=f"{stage:>6}",
                                              leave=stage == "files", disable=quiet)
        bar.update(done - bar.n)

    try:
        return kb.ingest(paths, progress=progress, replace=replace)
    finally:
        for bar in bars.values():
            bar.close()


def cmd_sources(args: argparse.Namespace) -> int:
    docs = _knowledge_base(_settings(args)).documents()
    if args.json:
        print(json.dumps([d.to_dict() for d in docs], ensure_ascii=False, indent=2))
        return 0
    if not docs:
        print("no documents ingested yet; run: kenbron ingest PATH")
        return 0
    for d in docs:
        print(f"{d.source_id}\t{d.language}\t{d.date or '-'}\t{d.chunks} chunks\t{d.title}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    kb = _knowledge_base(_settings(args))
    try:
        n = kb.remove(args.source_id)
    except KeyError as exc:
        raise CliError(f"no ingested document with source id {args.source_id!r} "
                       "(see: kenbron sources)") from exc
    print(f"removed {args.source_id} ({n} chunks)")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    settings = _settings(args)
    question = args.question.strip()
    if not question:
        raise CliError("the question is empty", status=2)
    hits = _knowledge_base(settings).search(question, k=settings.k)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    for h in hits:
        text = " ".join(h.chunk.text.split())
        where = f" — {h.chunk.location}" if h.chunk.location else ""
        print(f"{h.rank}. [{h.chunk.source_id}] {h.chunk.title}{where} (score {h.score:.4f})\n"
              f"   {text[:300]}{'…' if len(text) > 300 else ''}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.models.llm import LLMError
    from assistant.pipeline.chain import Assistant, QuestionError

    settings = _settings(args)
    try:
        # printed whole, after verification: unsupported markers may still be removed
        answer = Assistant(settings).ask(args.question)
    except QuestionError as exc:
        raise CliError(str(exc), status=2) from exc
    except LLMError as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 1 if answer.error else 0
    print(answer.text)
    if answer.citations:
        print()
        for c in answer.citations:
            quote = " ".join(c.quote.split())
            print(f"[{c.n}] {c.title} — {c.location}\n    “{quote[:300]}”")
    print(f"\n({answer.backend}: {answer.model}; {answer.timings.total_ms or 0:.0f} ms)",
          file=sys.stderr)
    return 1 if answer.error else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from assistant.provisioning.doctor import run_checks

    checks = run_checks(_settings(args), measure=not args.no_measure)
    if args.json:
        print(json.dumps([c.to_dict() for c in checks], ensure_ascii=False, indent=2))
    else:
        for c in checks:
            print(f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
            if c.fix:
                print(f"      {'hint' if c.ok else 'fix'}: {c.fix}")
        broken = [c.name for c in checks if not c.ok]
        print("\n" + (f"{len(broken)} problem(s): {', '.join(broken)}" if broken
                      else "everything needed is in place"))
    return 0 if all(c.ok for c in checks) else 1


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

    settings = _settings(args)
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
        ingested = _ingest(_knowledge_base(settings), [args.corpus])
        for path, reason in ingested.rejected:
            print(f"  rejected {path}: {reason}", file=sys.stderr)
    try:
        assistant = Assistant(settings)
    except LLMError as exc:
        raise CliError(str(exc)) from exc
    with _progress_bar(total=len(questions), unit="question", desc="eval") as bar:
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
    with _progress_bar(total=len(records), unit="answer", desc="judge") as bar:
        records = judge_records(judge, records,
                                progress=lambda done, total: bar.update(done - bar.n))
    return records, judge_report(records, label)


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port)
    return 0


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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "ingest": cmd_ingest,
    "sources": cmd_sources,
    "remove": cmd_remove,
    "search": cmd_search,
    "ask": cmd_ask,
    "eval": cmd_eval,
    "doctor": cmd_doctor,
    "serve": cmd_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    if args.command == "serve":
        level = min(level, logging.INFO)  # the app logs one line per request
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from vectorstore.store import StoreError

    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"kenbron: error: {exc}", file=sys.stderr)
        return exc.status
    except StoreError as exc:
        print(f"kenbron: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kenbron: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
