"""Fit `abstention.confidence` on the *tune* halves and show what it does on the *check* halves.

    .venv/bin/python -m assistant.evaluation.calibration \\
        eval/dev-sets/news/results.jsonl eval/dev-sets/realdocs/results.jsonl

Reads `kenbron eval` results of the local model (each verified answer carries its `Signals`),
fits a logistic regression of "this answer is right" on the signals of the tune questions of
every set given, and prints the weights to put in `abstention.CONFIDENCE_WEIGHTS`, the operating
point (`abstention.NOT_SURE_BELOW`) and the risk–coverage table of each set and half under them.

The operating point is the threshold of the tune halves' answers that maximises the right
answers kept minus `WRONG_COST` times the wrong answers kept (the middle of the range that
does): a wrong answer with a citation
that looks verified costs more than "not sure, see here" in place of a right one, so an answer is
worth giving from a chance of `WRONG_COST / (1 + WRONG_COST)` of being right. An answer to an
unanswerable question is a wrong answer. Nothing here reads a question's text: only its signals
and whether its answer was right.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from assistant.answer import Signals
from assistant.evaluation.budget import CURVE_THRESHOLDS, given_answer, risk_coverage
from assistant.evaluation.metrics import holds_answer
from assistant.evaluation.records import EvalRecord
from assistant.grounding import abstention

log = logging.getLogger(__name__)

WRONG_COST = 3.0
L2 = 1.0  # ridge penalty: a few dozen answers per set, so the weights are kept small
FEATURES = tuple(f.name for f in fields(Signals))


def right(record: EvalRecord) -> bool:
    """The answer given before any "not sure" is right (an unanswerable question answered is not)."""
    return (record.asked.answerable and bool(record.asked.must_include)
            and holds_answer(given_answer(record), record))


def _matrix(records: list[EvalRecord]) -> np.ndarray:
    rows = [[1.0, *(float(getattr(r.signals, name)) for name in FEATURES)] for r in records]
    return np.asarray(rows, dtype=np.float64).reshape(len(records), len(FEATURES) + 1)


def fit(records: list[EvalRecord]) -> dict[str, float]:
    """Logistic regression of `right` on the signals, ridge-penalised (the bias is not), by
    Newton's method: weights in `abstention.CONFIDENCE_WEIGHTS`'s shape."""
    x = _matrix(records)
    y = np.asarray([right(r) for r in records], dtype=np.float64)
    w = np.zeros(x.shape[1])
    penalty = np.eye(x.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = x.T @ (x * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {"bias": round(float(w[0]), 2)} | {
        name: round(float(v), 2) for name, v in zip(FEATURES, w[1:], strict=True)}


def operating_point(records: list[EvalRecord]) -> float:
    """The threshold that keeps the most right answers less `WRONG_COST` per wrong one (records
    already scored with the new confidence), on the risk–coverage curve's coarse steps: the
    middle of the first run of steps that do best, so that it sits in the gap between the
    answers it keeps and those it withholds rather than on one of them. (On a fine grid the
    best threshold is wherever a few tune answers happen to fall: it fits them.)"""
    def utility(t: float) -> float:
        kept = [r for r in records if r.confidence >= t]
        return sum(right(r) for r in kept) - WRONG_COST * sum(not right(r) for r in kept)
    scores = [utility(t) for t in CURVE_THRESHOLDS]
    first = last = scores.index(max(scores))
    while last + 1 < len(scores) and scores[last + 1] == scores[first]:
        last += 1
    return round((CURVE_THRESHOLDS[first] + CURVE_THRESHOLDS[last]) / 2, 2)


def rescored(records: list[EvalRecord], weights: dict[str, float]) -> list[EvalRecord]:
    """The records with their confidence recomputed under `weights` (answers without signals
    — abstentions, errors — unchanged)."""
    return [replace(r, confidence=abstention.confidence(r.signals, weights)) if r.signals else r
            for r in records]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="+", help="results.jsonl of kenbron eval runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    runs = {path.parent.name or str(path): [
        EvalRecord.from_dict(json.loads(line))
        for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for path in args.results}
    tune = [r for records in runs.values() for r in records
            if r.asked.split == "tune" and r.signals is not None and given_answer(r) is not None]
    if not tune:
        log.error("no tune answer carries signals: run kenbron eval with the local model first")
        return 1
    weights = fit(tune)
    point = operating_point(rescored(tune, weights))
    log.info("CONFIDENCE_WEIGHTS = %s\nNOT_SURE_BELOW = %s  (fitted on %d tune answers)",
             weights, point, len(tune))
    for name, records in runs.items():
        scored = rescored(records, weights)
        for half in ("tune", "check"):
            log.info("\n%s %s: threshold | coverage | risk | abstention unanswerable | "
                     "wrong abstention", name, half)
            for p in risk_coverage([r for r in scored if r.asked.split == half]):
                mark = "  <- operating point" if p.threshold <= point < p.threshold + 0.1 else ""
                log.info("  %.1f | %s | %s | %s | %s%s", p.threshold, p.coverage, p.risk,
                         p.abstention_unanswerable, p.wrong_abstention, mark)
    return 0


if __name__ == "__main__":
    sys.exit(main())
