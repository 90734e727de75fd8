"""The ceiling: how many answerable dev questions the same model answers right when it is handed
the evidence itself — the source text 600 characters either side of the question's evidence
string, a plain three-line prompt, no retrieval, no gate, no checks.

Kenbron's pipeline can be no better than its model reading the right passage; the gap between
this figure and `kenbron eval`'s accuracy on the same questions is what retrieval and every step
between retrieval and the answer lose (the error budget in `kenbron eval`'s report says where).
Scored by `kenbron eval`'s own rule (every `must_include` group present), reported per half;
with `--kenbron results.jsonl` also how the two agree question by question.

    .venv/bin/python -m benchmarks.ceiling --questions eval/realdocs/questions.dev.jsonl \\
        --corpus eval/realdocs/corpus --out /tmp/ceiling-realdocs \\
        [--kenbron eval/dev-sets/realdocs/results.jsonl]

The documents are read by Kenbron's own loaders (the text the index holds); the model is the
local worker Kenbron starts (settings from the environment, as `kenbron`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import unicodedata
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate

from assistant import prompts
from assistant.answer import Timings
from assistant.evaluation.metrics import normalise, satisfies_must_include
from assistant.evaluation.questions import Question, load_questions
from assistant.evaluation.records import EvalRecord, RetrievedChunk
from assistant.evaluation.report import build_report
from assistant.evaluation.run import halves_table, write_outputs
from assistant.models.llm import make_chat_model, model_label, stop_local_workers
from assistant.settings import Settings
from vectorstore.readers.loaders import load_file
from vectorstore.text import STRAIGHT_QUOTES

log = logging.getLogger("benchmarks.ceiling")

WINDOW = 600  # characters of the source either side of the evidence
PROMPT = ChatPromptTemplate.from_messages([("human", (
    "Answer the question from the text below, briefly, in {language}.\n\n"
    "Text: {text}\n\nQuestion: {question}"))])


def locate(text: str, evidence: str) -> tuple[int, int] | None:
    """Where `evidence` is in `text`, compared as `kenbron eval` compares (NFKC, straight
    quotes, whitespace collapsed, lower case): (start, end) in `text`, or None."""
    folded, positions = [], []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char).lower().translate(STRAIGHT_QUOTES):
            if piece.isspace():
                if not folded or folded[-1] == " ":
                    continue
                piece = " "
            folded.append(piece)
            positions.append(index)
    wanted = normalise(evidence)
    at = "".join(folded).find(wanted)
    if at < 0 or not wanted:
        return None
    return positions[at], positions[at + len(wanted) - 1] + 1


def evidence_window(question: Question, corpus: Path, texts: dict[str, str]
                    ) -> tuple[str, str] | None:
    """(source, the text around the first evidence string found in one of the sources);
    `texts` holds the sources read so far (a book is read once, not once per question)."""
    for source in question.sources:
        path = corpus / source
        if not path.is_file():
            continue
        if source not in texts:
            texts[source] = load_file(path).text
        text = texts[source]
        for evidence in question.evidence:
            span = locate(text, evidence)
            if span:
                return source, text[max(0, span[0] - WINDOW): span[1] + WINDOW]
    return None


def answer(chat: BaseChatModel, question: Question, source: str, window: str) -> EvalRecord:
    started = time.perf_counter()
    reply = (PROMPT | chat).invoke({
        "language": prompts.message(question.language, "language_name"),
        "text": window, "question": question.question})
    total_ms = (time.perf_counter() - started) * 1000
    chunk = RetrievedChunk(1, source, f"{source}#evidence", window)
    return EvalRecord(asked=question, retrieved=[chunk], context_chunk_ids=[chunk.chunk_id],
                      answer=str(reply.content).strip(), model_called=True,
                      timings=Timings(total_ms=total_ms))


def agreement(ceiling: list[EvalRecord], results: Path) -> dict[str, dict[str, int]]:
    """Per half: questions both answer right, only the ceiling, only Kenbron, neither."""
    kenbron = {r.asked.id: r for r in (EvalRecord.from_dict(json.loads(line))
                                       for line in results.read_text(encoding="utf-8").splitlines())}
    table: dict[str, dict[str, int]] = {}
    for record in ceiling:
        theirs = kenbron.get(record.asked.id)
        if theirs is None:
            continue
        groups = record.asked.must_include
        mine = satisfies_must_include(record.answer, groups)
        other = not theirs.abstained and satisfies_must_include(theirs.answer or "", groups)
        key = {(True, True): "both right", (True, False): "only the ceiling",
               (False, True): "only Kenbron", (False, False): "neither"}[(mine, other)]
        row = table.setdefault(record.asked.split, {})
        row[key] = row.get(key, 0) + 1
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kenbron", type=Path, help="a kenbron eval results.jsonl to compare")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env(backend="local")
    chat = make_chat_model(settings)
    questions = [q for q in load_questions(args.questions)
                 if q.answerable and q.must_include and q.evidence]
    records, missing, texts = [], [], {}
    try:
        for i, question in enumerate(questions, start=1):
            found = evidence_window(question, args.corpus, texts)
            if found is None:
                missing.append(question.id)
                continue
            records.append(answer(chat, question, *found))
            log.info("ceiling: %d/%d questions", i, len(questions))
    finally:
        stop_local_workers()
    if missing:
        log.warning("evidence not found in the parsed sources of %s", ", ".join(missing))
    report = build_report(records, 1, {
        "backend": "ceiling (the evidence handed to the model)",
        "model": model_label(settings, chat), "window": f"{WINDOW} characters either side"})
    write_outputs(args.out, records, report)
    text = halves_table({"ceiling": report})
    if args.kenbron:
        table = agreement(records, args.kenbron)
        (args.out / "agreement.json").write_text(json.dumps(table, indent=2))
        text += "\n" + "\n".join(f"{half}: {row}" for half, row in sorted(table.items())) + "\n"
    sys.stdout.write(text + f"\nevidence not found: {len(missing)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
