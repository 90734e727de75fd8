"""`kenbron` command line: a thin layer over the library API (see DESIGN's command contract).

Each command's flags (`build_parser`) and its handler (`cmd_*`) are read together here; what the
commands share is in `ui.cli_common`, `kenbron eval` in `ui.cli_eval`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.models.providers import PROVIDERS
from assistant.settings import apply_process_defaults
from ui.cli_common import CliError, ingest_with_progress, knowledge_base, settings_from
from ui.cli_eval import cmd_eval

apply_process_defaults()


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
    p.add_argument("--backend", choices=PROVIDERS, default=None,
                   help="local, openai, compatible or extractive (env KENBRON_LLM)")
    p.add_argument("--model", default=None, help="model name for openai/compatible (env KENBRON_LLM_MODEL)")
    p.add_argument("-k", type=int, default=None, help="number of sources given to the model")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    _common(p)

    p = sub.add_parser("serve", help="start the Gradio app and the OpenAI-compatible /v1 API "
                                    "(http://127.0.0.1:7860)")
    p.add_argument("--host", default=None, help="env GRADIO_SERVER_NAME (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="env GRADIO_SERVER_PORT (default 7860)")
    p.add_argument("--backend", choices=PROVIDERS, default=None)
    p.add_argument("--model", default=None)
    p.add_argument("-k", type=int, default=None)
    _common(p)

    p = sub.add_parser("doctor", help="can this machine run Kenbron, and how fast? (exit 1 if not)")
    p.add_argument("--backend", choices=PROVIDERS, default=None)
    p.add_argument("--no-measure", action="store_true", help="skip measuring the local model's speed")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    _common(p)

    p = sub.add_parser("eval", help="evaluate on a question set (JSONL, see eval/FORMAT.md)")
    p.add_argument("--questions", type=Path, required=True)
    p.add_argument("--corpus", type=Path, default=None,
                   help="the question set's documents: ingested into --data-dir first (skipped "
                        "when unchanged); use a data dir of its own per question set")
    p.add_argument("--backend", choices=PROVIDERS, default=None)
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


def cmd_ingest(args: argparse.Namespace) -> int:
    report = ingest_with_progress(knowledge_base(settings_from(args)), args.paths, args.replace,
                                  quiet=args.json)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"added {len(report.added)}, updated {len(report.updated)}, "
              f"unchanged {len(report.skipped)}, rejected {len(report.rejected)} "
              f"({report.chunks_embedded} chunks embedded)")
        for path, reason in report.rejected:
            print(f"  rejected {path}: {reason}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_sources(args: argparse.Namespace) -> int:
    docs = knowledge_base(settings_from(args)).documents()
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
    kb = knowledge_base(settings_from(args))
    try:
        n = kb.remove(args.source_id)
    except KeyError as exc:
        raise CliError(f"no ingested document with source id {args.source_id!r} "
                       "(see: kenbron sources)") from exc
    print(f"removed {args.source_id} ({n} chunks)")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    question = args.question.strip()
    if not question:
        raise CliError("the question is empty", status=2)
    hits = knowledge_base(settings).search(question, k=settings.k)
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

    settings = settings_from(args)
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

    checks = run_checks(settings_from(args), measure=not args.no_measure)
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


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import launch

    launch(settings_from(args), host=args.host, port=args.port)
    return 0


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
    from vectorstore.index.store import StoreError

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
