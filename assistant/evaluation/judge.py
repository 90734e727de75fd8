"""Optional LLM-judge metrics for `kenbron eval --judge`, after RAGAS's definitions.

- **faithfulness**: the judge lists the answer's factual statements and marks each as supported
  or not by the retrieved contexts; faithfulness = supported statements / statements.
- **answer relevance**: the judge writes questions the answer would answer; relevance = mean
  cosine similarity (multilingual USE embeddings) between those questions and the real question.

Both need a model and are therefore neither deterministic nor free: they are off by default and
reported apart from the deterministic metrics (`judge` in report.json). Abstentions and errors
are not judged. The judge is any OpenAI-compatible chat model (or the local one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from assistant.evaluation.metrics import percentile
from assistant.evaluation.records import EvalRecord
from assistant.grounding.citations import strip_markers

DEFINITIONS = {
    "faithfulness": "statements of the answer that the judge finds supported by the retrieved "
                    "contexts / statements of the answer (RAGAS faithfulness); answered questions",
    "answer_relevance": "mean cosine similarity (USE) between the question and questions the judge "
                        "generates from the answer (RAGAS answer relevancy); answered questions",
}

FAITHFULNESS_PROMPT = """You check an answer against its context.
Context:
{context}

Answer: {answer}

List every factual statement of the answer, one per line, each followed by " => YES" if the
context supports it or " => NO" if it does not. Write nothing else."""

QUESTIONS_PROMPT = """Write {n} different questions that the following answer answers, one per line,
in the language of the answer. Write nothing else.

Answer: {answer}"""

_VERDICT = re.compile(r"=>\s*(YES|NO)\b", re.I)


def parse_verdicts(text: str) -> list[bool]:
    """One verdict per statement line ('... => YES' / '... => NO')."""
    return [m.group(1).upper() == "YES" for line in text.splitlines()
            for m in [_VERDICT.search(line)] if m]


def parse_questions(text: str) -> list[str]:
    lines = [re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", line).strip() for line in text.splitlines()]
    return [line for line in lines if len(line.split()) >= 2]


class Judge:
    """Scores answers with a chat model; `embed` gives unit vectors for relevance."""

    def __init__(self, chat: BaseChatModel, embed: Callable[[list[str]], np.ndarray],
                 label: str, n_questions: int = 3, context_chars: int = 6000) -> None:
        self.chat, self.embed, self.label = chat, embed, label
        self.n_questions, self.context_chars = n_questions, context_chars

    def _ask(self, prompt: str) -> str:
        return str(self.chat.invoke([HumanMessage(content=prompt)]).content)

    def score(self, record: EvalRecord) -> dict[str, Any] | None:
        """Judge one evaluated answer; None when there is nothing to judge."""
        if record.abstained or record.error or not record.answer:
            return None
        answer = strip_markers(record.answer)
        context = "\n\n".join(c.text for c in record.retrieved)[: self.context_chars]
        out: dict[str, Any] = {"faithfulness": None, "answer_relevance": None}
        try:
            verdicts = parse_verdicts(self._ask(FAITHFULNESS_PROMPT.format(context=context,
                                                                           answer=answer)))
            if verdicts:
                out["faithfulness"] = round(sum(verdicts) / len(verdicts), 4)
                out["statements"] = len(verdicts)
            questions = parse_questions(self._ask(QUESTIONS_PROMPT.format(n=self.n_questions,
                                                                          answer=answer)))
            if questions:
                vectors = self.embed([record.asked.question, *questions[: self.n_questions]])
                out["answer_relevance"] = round(float(np.mean(vectors[1:] @ vectors[0])), 4)
        except Exception as exc:  # one failing judgement is reported, not fatal to the run
            out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return out


def judge_records(judge: Judge, records: Sequence[EvalRecord],
                  progress: Callable[[int, int], None] | None = None) -> list[EvalRecord]:
    """The records with their `judge` scores (None for abstentions and errors)."""
    judged = []
    for i, record in enumerate(records):
        judged.append(replace(record, judge=judge.score(record)))
        if progress:
            progress(i + 1, len(records))
    return judged


def judge_report(records: Sequence[EvalRecord], label: str) -> dict[str, Any]:
    """The `judge` section of report.json: overall and per language, with definitions."""

    def summary(rows: Sequence[EvalRecord]) -> dict[str, Any]:
        judged = [r.judge for r in rows if r.judge]
        out: dict[str, Any] = {"judged": len(judged)}
        for metric in DEFINITIONS:
            values = [j[metric] for j in judged if j.get(metric) is not None]
            out[metric] = round(float(np.mean(values)), 4) if values else None
            out[f"{metric}_p50"] = percentile(values, 50) if values else None
        return out

    languages = sorted({r.asked.language for r in records})
    return {
        "model": label,
        "overall": summary(records),
        "by_language": {lang: summary([r for r in records if r.asked.language == lang])
                        for lang in languages},
        "definitions": DEFINITIONS,
    }
