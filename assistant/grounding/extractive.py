"""The `extractive` backend: answer with the best-supported source sentences, no LLM.

Candidates are the stored sentences of the retrieved chunks, ranked by the similarity of their
vectors (the knowledge base's own multilingual model, computed at ingest) to the question, plus
small bonuses for sharing the question's key terms (those not every retrieved chunk carries) and
for belonging to a higher-ranked chunk.
A key term counts when it is in the sentence or in its document's title: articles name their
subject in the title and then call them "he" or "she", so the sentence that answers a question
about a person often does not repeat the name.
The best one or two sentences, each with the sentence after it, form the answer, each cited; below
`abstention.EXTRACTIVE_MIN_SCORE` the backend abstains. Deterministic, and its citations are its own quotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.grounding.abstention import EXTRACTIVE_MIN_SCORE, PART_MIN_SCORE
from assistant.grounding.evidence import key_terms
from assistant.grounding.specifics import asks_for_number, numbers
from vectorstore.documents import ScoredChunk
from vectorstore.index.chunking import sentence_spans
from vectorstore.text import QUESTION_WORDS

MAX_SENTENCES = 2
RELATIVE_MARGIN = 0.04
RANK_BONUS = 0.03  # per rank above the last retrieved chunk
TERM_BONUS = 0.1


@dataclass(frozen=True)
class RankedSentence:
    """A stored sentence of a retrieved chunk, scored for a question."""

    score: float  # cosine similarity to the question plus the rank and key-term bonuses
    source: int  # the chunk's number among the hits, 1-based like a citation marker
    text: str  # whitespace collapsed


def rank_sentences(question: str, hits: Sequence[ScoredChunk], knowledge_base, pool: int = 12
                   ) -> list[RankedSentence]:
    """The `pool` stored sentences of `hits` most similar to the question, rescored with the
    key-term and rank bonuses, best first."""
    number = {h.chunk.chunk_id: n for n, h in enumerate(hits, start=1)}
    terms = _telling_terms(question, hits)
    scored = []
    for text, chunk_id, similarity in knowledge_base.best_sentences(question, list(hits), n=pool):
        n = number[chunk_id]
        bonus = RANK_BONUS * (len(hits) - n)
        if terms:
            haystack = f"{text} {hits[n - 1].chunk.title}".lower()
            bonus += TERM_BONUS * sum(t in haystack for t in terms) / len(terms)
        scored.append(RankedSentence(similarity + bonus, n, " ".join(text.split())))
    scored.sort(key=lambda item: -item.score)
    return scored


def _telling_terms(question: str, hits: Sequence[ScoredChunk]) -> list[str]:
    """The question's key terms (lower case) that some retrieved chunk lacks, text and title.

    Why: a term every retrieved chunk carries cannot tell their sentences apart. A manual names
    its program or language in nearly every passage, so the sentence that repeats the name won
    the bonus over the one that answers, and a sentence that only shared the name reached the
    answer threshold (`docs/decisions.md`: `_telling_terms`).
    """
    terms = [t.lower() for t in key_terms(question)]
    carried = [f"{h.chunk.text} {h.chunk.title}".lower() for h in hits]
    return [t for t in terms if not all(t in text for text in carried)]


def extract_answer(question: str, hits: Sequence[ScoredChunk], knowledge_base
                   ) -> list[RankedSentence]:
    """The sentences of the answer: the best one or two, each followed by the sentence after it
    in its paragraph; empty means abstain.

    Why the next sentence: the sentence closest to a question often restates it or leads in to
    the answer ("To share a route, first open the Routes menu." — and the next sentence says
    what to choose there; a lead-in ending in a colon, a heading and its first sentence), the
    reason the model, too, reads each best sentence with the one after it
    (`pipeline.reading.excerpts`; `docs/decisions.md`: `extract_answer`).
    A question about a quantity or a date takes no sentence after one without a number: the
    after-sentence would only lend its number to the abstention rule (`abstention.after_verifying`,
    `NO_NUMBER`), and a number next to a sentence that does not answer is a neighbouring fact
    (two unanswerable news questions were answered that way).

    A question that asks two things gets, for each later part, that part's best sentence too
    (`question_parts`): the best sentences for the whole question often answer only its first
    part (`docs/decisions.md`).
    """
    scored = rank_sentences(question, hits, knowledge_base)
    if not scored or scored[0].score < EXTRACTIVE_MIN_SCORE:
        return []
    best: list[RankedSentence] = []
    for candidate in scored:
        if candidate.score < scored[0].score - RELATIVE_MARGIN or len(best) == MAX_SENTENCES:
            break
        if candidate.text not in {c.text for c in best}:
            best.append(candidate)
    if asks_for_number(question) and not any(numbers(s.text) for s in best):
        return best
    for part in question_parts(question)[1:]:
        ranked = rank_sentences(part, hits, knowledge_base)
        if ranked and ranked[0].score >= PART_MIN_SCORE and ranked[0].text not in {
                c.text for c in best}:
            best.append(ranked[0])
    chosen: list[RankedSentence] = []
    for sentence in best:
        chosen.append(sentence)
        following = _following(hits[sentence.source - 1].chunk.text, sentence.text)
        if following and following not in {c.text for c in chosen + best}:
            chosen.append(replace(sentence, text=following))
    return chosen


_INTERROGATIVE = "|".join(map(re.escape, QUESTION_WORDS))
_PARTS = re.compile(rf"(?:,\s*|\s+)(?:and|et|en)\s+(?=(?:{_INTERROGATIVE})\b)|\?\s+(?=\S)",
                    re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """A question that asks two things ("Which lock opened in March, and what did it cost?",
    "Quelle écluse a ouvert, et quand ?", "Can the port grow? If not, why?") in its parts; a
    simple question is its own only part."""
    return [p.strip(" ,?") for p in _PARTS.split(question) if p.strip(" ,?")]


def _following(text: str, sentence: str) -> str | None:
    """The sentence after `sentence` in `text`, whitespace collapsed, if the paragraph goes on
    (a line without a full stop — a heading, a label — continues into the next paragraph)."""
    spans = sentence_spans(text)
    sentences = [" ".join(text[start:end].split()) for start, end in spans]
    if sentence not in sentences[:-1]:
        return None
    i = sentences.index(sentence)
    if "\n\n" in text[spans[i][1]:spans[i + 1][0]] and sentence[-1:] in ".!?":
        return None
    return sentences[i + 1]
