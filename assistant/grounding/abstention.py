"""Every decision to answer "the documents don't say" — or "not sure, see here" — and its
thresholds, in one place.

The pipeline asks three times: before any model reads the passages (`before_reading`: nothing
retrieved, or a name or number of the question in none of them), when the model has written
(`declined`: it wrote the "not found" signal, or nothing), and after the citations are checked
(`after_verifying`: no claim kept a citation, or a question about a quantity got no number). The
extractive backend abstains below `EXTRACTIVE_MIN_SCORE`, its best sentence's score (cosine
similarity plus the ranking's bonuses, `assistant.grounding.extractive`); a later part of a
two-part question adds a sentence only from `PART_MIN_SCORE`.

An answer that passed every check can still be doubtful (`confidence` below `NOT_SURE_BELOW`):
then the asker gets "not sure" and the best passage instead of an answer that looks verified.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from assistant import prompts
from assistant.answer import AbstainReason, Signals
from assistant.grounding.citations import Verification, parse_claims
from assistant.grounding.evidence import missing_key_terms
from assistant.grounding.specifics import asks_for_number, numbers
from vectorstore.documents import ScoredChunk

EXTRACTIVE_MIN_SCORE = 0.6
# A later part of a two-part question ("…, and when did it open?") adds its best sentence only
# from this score: a part alone is short and scores lower than a whole question; without a floor
# neighbouring sentences were cited, at 0.6 almost no part passes (`docs/decisions.md`).
PART_MIN_SCORE = 0.45
# `confidence`'s weights and the operating point below which a verified answer is "not sure"
# (fitted and chosen on the tune halves: `assistant.evaluation.calibration`).
CONFIDENCE_WEIGHTS = {"bias": -1.69, "support": 0.35, "best_cited": 1.73, "evidence": 0.71}
NOT_SURE_BELOW = 0.5

# the model's "not in the sources" signal, also as a small model mangles it ("niet_found")
_NOT_FOUND = re.compile(rf"{prompts.NOT_FOUND}|\b\w+_found\b", re.IGNORECASE)


def before_reading(question: str, hits: Sequence[ScoredChunk], language: str
                   ) -> AbstainReason | None:
    """Abstain without asking a model: nothing retrieved, or a key term (a name or number the
    answer cannot do without) in none of the retrieved passages (`missing_key_terms`)."""
    if not hits:
        return AbstainReason.NO_SOURCES
    if missing_key_terms(question, hits, language):
        return AbstainReason.KEY_TERMS
    return None


def says_not_found(text: str) -> bool:
    """Whether a model's text is (or contains) the "not in the sources" signal."""
    return bool(_NOT_FOUND.search(text))


def declined(text: str, calls_model: bool) -> AbstainReason | None:
    """The written answer is no answer: the model's signal, or nothing at all (the extractive
    backend writes nothing when its best sentence scores below `EXTRACTIVE_MIN_SCORE`)."""
    if says_not_found(text) or not text.strip():
        return AbstainReason.MODEL if calls_model else AbstainReason.UNSUPPORTED
    return None


def after_verifying(check: Verification, question: str) -> AbstainReason | None:
    """`UNSUPPORTED` when no claim kept a citation; `NO_NUMBER` when the question asks how many,
    how much or when and no cited claim holds a number or date (a restated question or a
    neighbouring fact is not an answer)."""
    if not check.citations:
        return AbstainReason.UNSUPPORTED
    cited = [claim.text for claim in parse_claims(check.text) if claim.markers]
    if asks_for_number(question) and not any(numbers(claim) for claim in cited):
        return AbstainReason.NO_NUMBER
    return None


def confidence(signals: Signals, weights: Mapping[str, float] | None = None) -> float:
    """How likely a verified answer is right, 0..1: a logistic model of its `Signals`, its
    weights (`CONFIDENCE_WEIGHTS`) fitted on the *tune* halves of both dev sets
    (`python -m assistant.evaluation.calibration`) and checked on the *check* halves.

    Why one number: each signal alone misses wrong answers the others catch — a weakly backed
    claim, an answer that rests on a passage retrieval found less relevant than another, an
    answer when no source sentence is really about the question — and one number gives the
    risk–coverage curve its order (`kenbron eval`'s report). Signals measured and left out
    because they did not hold on the check halves: `docs/decisions.md`."""
    w = CONFIDENCE_WEIGHTS if weights is None else weights
    z = (w["bias"] + w["support"] * signals.support + w["best_cited"] * signals.best_cited
         + w["evidence"] * signals.evidence)
    return round(1.0 / (1.0 + math.exp(-z)), 3)
