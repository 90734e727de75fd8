"""The `extractive` backend: answer with the best-supported source sentences, no LLM.

Candidates are the stored sentences of the retrieved chunks, ranked by the similarity of their
vectors (the knowledge base's own multilingual model, computed at ingest) to the question, plus
small bonuses for sharing the question's key terms and for belonging to a higher-ranked chunk.
A key term counts when it is in the sentence or in its document's title: articles name their
subject in the title and then call them "he" or "she", so the sentence that answers a question
about a person often does not repeat the name.
The best one or two sentences form the answer, each cited; below `ANSWER_THRESHOLD` the backend
abstains. Deterministic, and its citations are its own quotes.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.evidence import key_terms
from vectorstore.documents import ScoredChunk

ANSWER_THRESHOLD = 0.6
MAX_SENTENCES = 2
RELATIVE_MARGIN = 0.04
RANK_BONUS = 0.03  # per rank above the last retrieved chunk
TERM_BONUS = 0.1


def rank_sentences(question: str, hits: Sequence[ScoredChunk], knowledge_base, pool: int = 12
                   ) -> list[tuple[float, int, str]]:
    """(score, source number, sentence) of the `pool` stored sentences of `hits` most similar to
    the question, rescored with the key-term and rank bonuses, best first."""
    number = {h.chunk.chunk_id: n for n, h in enumerate(hits, start=1)}
    terms = [t.lower() for t in key_terms(question)]
    scored = []
    for text, chunk_id, similarity in knowledge_base.best_sentences(question, list(hits), n=pool):
        n = number[chunk_id]
        bonus = RANK_BONUS * (len(hits) - n)
        if terms:
            haystack = f"{text} {hits[n - 1].chunk.title}".lower()
            bonus += TERM_BONUS * sum(t in haystack for t in terms) / len(terms)
        scored.append((similarity + bonus, n, " ".join(text.split())))
    scored.sort(key=lambda item: -item[0])
    return scored


def extract_answer(question: str, hits: Sequence[ScoredChunk], knowledge_base
                   ) -> list[tuple[int, str]]:
    """[(source number, sentence)] of the answer, best first; empty means abstain."""
    scored = rank_sentences(question, hits, knowledge_base)
    if not scored or scored[0][0] < ANSWER_THRESHOLD:
        return []
    best = scored[0][0]
    chosen: list[tuple[int, str]] = []
    for score, n, sentence in scored:
        if score < best - RELATIVE_MARGIN or len(chosen) == MAX_SENTENCES:
            break
        if sentence not in {s for _, s in chosen}:
            chosen.append((n, sentence))
    return chosen
