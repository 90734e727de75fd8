"""Where answers are lost, and what saying "not sure" would trade: the error budget (the stage
that decided each question's outcome, and what each step after retrieval gained) and the
risk–coverage curve of `Answer.confidence`. Computed from result records alone, like every
metric (`assistant.evaluation.metrics`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.evaluation.metrics import hit_rank, holds_answer, is_right, mean_of
from assistant.evaluation.records import EvalRecord

CURVE_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


# --- the error budget ----------------------------------------------------------------------
# For every question, the stage of the pipeline that decided its outcome: accuracy says how many
# answers are right, the budget where the others were lost, so a change can name the line it
# moved. The stages, in the pipeline's order (`stage_of`):
#
# - `right` / `abstained, unanswerable` / `not sure, unanswerable`: nothing lost;
# - `not sure, the withheld answer was right` (or `wrong`): what saying "not sure" cost (saved);
# - `not retrieved`: no passage holding the evidence among the top k, and the answer is not right;
# - `gate: <reason>`: abstained before the model read anything (`key_terms`, `no_sources`);
# - `model declined`: the model said the passages do not answer;
# - `model wrong`: what the model wrote, in its own words or translated, lacks what a right
#   answer needs, with the evidence among the passages it was given;
# - `verification removed a right answer`: the model's answer was right, and the checks after it
#   abstained (`unsupported`, `no_number`) or cut the part that made it right;
# - `quote step replaced a right answer`: the model's verified answer was right, the quoted
#   source sentences that stand in its place are not;
# - `answered an unanswerable question`;
# - `error`; `not judged` (an answerable question without `must_include`).
#
# "Right" is `answer_accuracy`'s rule (every `must_include` group present). Beside the stages,
# what the steps after retrieval gained, so each step's gain and cost are read together:
# `quote step made a wrong answer right` (against `quote step replaced a right answer`),
# `verification stopped a wrong answer` (a draft that was not right, or answered an unanswerable
# question, became an abstention; against `verification removed a right answer`) and `gate
# stopped an unanswerable question` (against `gate: key_terms`); "not sure" has its two lines.
# Records written before drafts were kept have no draft: their model and verification stages
# read `model wrong or checks (no draft recorded)`.

GATE_REASONS = ("key_terms", "no_sources")
STAGES = ("right", "abstained, unanswerable", "not sure, unanswerable",
          "not sure, the withheld answer was right", "not sure, the withheld answer was wrong",
          "not retrieved", "gate: key_terms",
          "gate: no_sources", "model declined", "model wrong",
          "verification removed a right answer", "quote step replaced a right answer",
          "model wrong or checks (no draft recorded)", "answered an unanswerable question",
          "error", "not judged")
QUOTE_GAIN = "quote step made a wrong answer right"
VERIFY_GAIN = "verification stopped a wrong answer"
GATE_GAIN = "gate stopped an unanswerable question"
VERIFY_REASONS = ("unsupported", "no_number")
GAINS = (QUOTE_GAIN, VERIFY_GAIN, GATE_GAIN)


def stage_of(record: EvalRecord, k: int) -> str:
    """The stage that decided this question's outcome (see "the error budget" above)."""
    asked = record.asked
    if record.error:
        return "error"
    if not asked.answerable:
        return "abstained, unanswerable" if record.abstained else \
            "not sure, unanswerable" if record.unsure else "answered an unanswerable question"
    if not asked.must_include:
        return "not judged"
    if record.unsure:  # what "not sure" cost or saved: the answer it stood in for
        return "not sure, the withheld answer was " + (
            "right" if holds_answer(record.withheld, record) else "wrong")
    if is_right(record):
        return "right"
    if asked.evidence and hit_rank(record, k) is None:
        return "not retrieved"
    if record.abstained and record.abstain_reason in GATE_REASONS:
        return f"gate: {record.abstain_reason}"
    if record.abstained and record.abstain_reason == "model":
        return "model declined"
    if record.draft is None:
        return "model wrong or checks (no draft recorded)"
    if not (holds_answer(record.draft, record) or holds_answer(record.model_answer, record)):
        return "model wrong"
    if record.abstained or not holds_answer(record.model_answer, record):
        return "verification removed a right answer"
    return "quote step replaced a right answer"


def quote_gained(record: EvalRecord) -> bool:
    """The quoted sentences are right where the model's own verified answer was not."""
    return (record.asked.answerable and bool(record.asked.must_include)
            and not (record.abstained or record.unsure) and record.model_answer is not None
            and record.model_answer != record.answer and holds_answer(record.answer, record)
            and not holds_answer(record.model_answer, record))


def verification_gained(record: EvalRecord) -> bool:
    """The checks after the model abstained on a draft that would have been a wrong answer."""
    return (record.abstained and record.abstain_reason in VERIFY_REASONS
            and record.draft is not None
            and (not record.asked.answerable or (bool(record.asked.must_include)
                                                 and not holds_answer(record.draft, record))))


def error_budget(records: Sequence[EvalRecord], k: int) -> dict[str, int]:
    """Questions per stage (only the stages that occur, in the pipeline's order), then what the
    quote step, verification and the key-term gate gained."""
    counts = Counter(stage_of(r, k) for r in records)
    budget = {stage: counts[stage] for stage in STAGES if counts[stage]}
    if any(r.model_answer is not None for r in records):
        budget[QUOTE_GAIN] = sum(quote_gained(r) for r in records)
    if any(r.draft is not None for r in records):
        budget[VERIFY_GAIN] = sum(verification_gained(r) for r in records)
    budget[GATE_GAIN] = sum(not r.asked.answerable and r.abstained
                            and r.abstain_reason in GATE_REASONS for r in records)
    return budget


@dataclass(frozen=True)
class CurvePoint:
    """What saying "not sure" below `threshold` would give: the share of questions answered, the
    share of those answers that are wrong, abstention on unanswerable questions and wrong
    abstentions on answerable ones."""

    threshold: float
    coverage: float | None
    risk: float | None
    abstention_unanswerable: float | None
    wrong_abstention: float | None


def given_answer(record: EvalRecord) -> str | None:
    """The answer the pipeline had before "not sure" (None for an abstention or an error)."""
    if record.abstained or record.error:
        return None
    return record.withheld if record.unsure else record.answer


def risk_coverage(records: Sequence[EvalRecord]) -> list[CurvePoint]:
    """The risk–coverage curve of `Answer.confidence`: for each threshold, "not sure" on every
    answer whose confidence is below it (abstentions stay abstentions; an answer without a
    confidence — the extractive backend's — is always given). Read with the operating point
    `abstention.NOT_SURE_BELOW`: a higher one buys a lower risk with coverage."""
    points = []
    for t in CURVE_THRESHOLDS:
        kept = [given_answer(r) is not None and (r.confidence is None or r.confidence >= t)
                for r in records]
        wrong = [not (r.asked.answerable and r.asked.must_include and holds_answer(given_answer(r), r))
                 for r, given in zip(records, kept, strict=True) if given]
        points.append(CurvePoint(
            t, mean_of(map(float, kept)), mean_of(map(float, wrong)),
            mean_of(float(not given) for r, given in zip(records, kept, strict=True)
                  if not r.asked.answerable),
            mean_of(float(not given) for r, given in zip(records, kept, strict=True)
                  if r.asked.answerable)))
    return points
