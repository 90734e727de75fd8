"""Are the follow-up questions offered under answers answered when clicked?

    .venv/bin/python -m benchmarks.follow_ups --questions eval/realdocs/questions.dev.jsonl \\
        --data-dir DIR [--backend extractive] --out DIR

For every question of a dev set: the answer, the follow-ups the app would offer under it
(`assistant.pipeline.suggestions`), then each follow-up asked on its own, as a click does. A follow-up
counts as answered when the answer is not an abstention, has no error and cites a passage.
Reported per half (tune / check). Writes DIR/follow_ups-<label>-<backend>.{json,md}.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.evaluation.questions import load_questions  # noqa: E402
from assistant.pipeline.chain import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from benchmarks.report import machine, save  # noqa: E402

log = logging.getLogger("follow_ups")


def run(assistant: Assistant, questions) -> list[dict]:
    rows = []
    for i, q in enumerate(questions, start=1):
        answer = assistant.ask(q.question)
        offered = assistant.follow_ups(answer) if answer.error is None else []
        asked = []
        for text in offered:
            reply = assistant.ask(text)  # as the app asks a clicked suggestion: on its own
            asked.append({"question": text, "answered": bool(
                not reply.abstained and reply.error is None and reply.citations),
                "abstain_reason": reply.abstain_reason})
        rows.append({"id": q.id, "split": q.split, "language": q.language, "follow_ups": asked})
        log.info("%d/%d %s: %d offered, %d answered", i, len(questions), q.id, len(asked),
                 sum(a["answered"] for a in asked))
    return rows


def summary(rows: list[dict]) -> dict:
    out = {}
    for split in ("tune", "check", "all"):
        mine = [r for r in rows if split in ("all", r["split"])]
        offered = [a for r in mine for a in r["follow_ups"]]
        out[split] = {"questions": len(mine),
                      "with_follow_ups": round(sum(bool(r["follow_ups"]) for r in mine) / len(mine), 3),
                      "offered": len(offered),
                      "answered": round(sum(a["answered"] for a in offered) / len(offered), 3)
                      if offered else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--label", default=None,
                        help="the set's name in the output file (default: the questions' folder)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env(data_dir=args.data_dir, backend=args.backend)
    rows = run(Assistant(settings), load_questions(args.questions))
    result = {**machine(), "questions": str(args.questions), "backend": settings.backend,
              "summary": summary(rows), "rows": rows}
    lines = [f"# Follow-up suggestions answered when clicked ({args.questions}, "
             f"backend {settings.backend})", "",
             "| half | questions | with follow-ups | offered | answered |", "|---|---|---|---|---|"]
    for split, s in result["summary"].items():
        lines.append(f"| {split} | {s['questions']} | {s['with_follow_ups']:.2f} | {s['offered']} | "
                     f"{s['answered'] if s['answered'] is not None else 'n/a'} |")
    label = args.label or args.questions.parent.name
    save(args.out, f"follow_ups-{label}-{settings.backend}", result,
         "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
