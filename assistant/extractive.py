"""The `extractive` backend: answer with the best-supported source sentences, no LLM.

Each candidate sentence of the retrieved chunks is scored by its embedding similarity to the
question (multilingual, so an English question meets a Dutch sentence) plus a small bonus for
sharing the question's key terms. The best one or two sentences form the answer, each cited;
below `ANSWER_THRESHOLD` the backend abstains. Deterministic, and its citations are its quotes,
so citation precision is 1.0 by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.citations import EmbedFn
from assistant.evidence import key_terms
from vectorstore.chunking import split_units
from vectorstore.documents import ScoredChunk

ANSWER_THRESHOLD = 0.45
MAX_SENTENCES = 2
RELATIVE_MARGIN = 0.08


def extract_answer(question: str, hits: Sequence[ScoredChunk], embed: EmbedFn) -> list[tuple[int, str]]:
    """[(source number, sentence)] of the answer, best first; empty means abstain."""
    candidates: list[tuple[int, str]] = []
    for n, hit in enumerate(hits, start=1):
        text = hit.chunk.text
        for unit in split_units(text, max_tokens=10_000):
            sentence = " ".join(text[unit.start:unit.end].split())
            if len(sentence.split()) >= 5:
                candidates.append((n, sentence))
    if not candidates:
        return []
    vectors = embed([question] + [s for _, s in candidates])
    similarity = vectors[1:] @ vectors[0]
    terms = [t.lower() for t in key_terms(question)]
    bonus = np.array([
        0.1 * (sum(t in s.lower() for t in terms) / len(terms)) if terms else 0.0
        for _, s in candidates
    ])
    score = similarity + bonus
    order = np.argsort(-score)
    best = float(score[order[0]])
    if best < ANSWER_THRESHOLD:
        return []
    chosen: list[tuple[int, str]] = []
    for i in order:
        if float(score[i]) < best - RELATIVE_MARGIN or len(chosen) == MAX_SENTENCES:
            break
        if candidates[i][1] not in {s for _, s in chosen}:
            chosen.append(candidates[i])
    return chosen
