"""Every decision to answer "the documents don't say" — or "not sure, see here" — and its
thresholds, in one place.

The pipeline asks three times: before any model reads the passages (`before_reading`: nothing
retrieved, or a name or number of the question in none of them), when the model has written
(`declined`: it wrote the "not found" signal, or nothing), and after the citations are checked
(`after_verifying`: no claim kept a citation, or a question about a quantity got no number). The
extractive backend abstains below `EXTRACTIVE_MIN_SCORE`, its best sentence's score (cosine
similarity plus the ranking's bonuses, `assistant.grounding.extractive`); a later part of a
two-part question adds a sentence only from `PART_MIN_SCORE`.

An answer that passed every check can still disagree with the evidence (`unsure`): then the
asker gets "not sure" and the best passage instead of an answer that looks verified.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from assistant import prompts
from assistant.answer import AbstainReason
from assistant.grounding.citations import Verification, parse_claims
from assistant.grounding.evidence import missing_key_terms
from assistant.grounding.specifics import asks_for_number, numbers
from vectorstore.documents import ScoredChunk

EXTRACTIVE_MIN_SCORE = 0.6
# A later part of a two-part question ("…, and when did it open?") adds its best sentence only
# from this score: a part alone is short and scores lower than a whole question (dev sets: median
# best 0.48 against 0.72). Chosen among 0 / 0.45 / 0.6 on both halves of both dev sets: without a
# floor the news check half's citation precision fell 0.94 -> 0.91; at 0.6 almost no part passes.
PART_MIN_SCORE = 0.45
# A verified answer is "not sure" when one of its citations backs its claim below this (support
# is the better of semantic and lexical agreement, `citations.Support`; verification keeps a
# citation from 0.5 on).
UNSURE_MIN_SUPPORT = 0.7

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


def unsure(supports: Sequence[float], cited_chunks: Collection[str], best_chunk: str | None
           ) -> bool:
    """A verified answer that does not agree with the evidence: a claim its citation backs only
    weakly (below `UNSURE_MIN_SUPPORT`), or an answer that cites none of the best-ranked
    passage — it rests on a passage retrieval found less relevant, while the one most about the
    question goes unused (a neighbouring claim, a related sentence presented as the answer)."""
    if not supports:
        return False
    return min(supports) < UNSURE_MIN_SUPPORT or (best_chunk is not None
                                                  and best_chunk not in cited_chunks)
