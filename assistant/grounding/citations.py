"""Parse `[n]` citation markers in an answer and verify each against the chunk it names.

Method (documented in the README): the answer is split into sentences; markers that follow a
sentence belong to it. A marker is kept only if

1. `n` names one of the chunks given to the model (1..len(context)), and
2. the cited chunk carries every number, date and name of the sentence (`assistant.grounding.specifics`:
   in any language and format), and
3. the cited chunk supports the sentence: the best *support score* between the sentence (markers
   removed) and any sentence of the chunk reaches `SUPPORT_THRESHOLD`. The support score is the
   larger of a semantic score — cosine similarity of multilingual sentence embeddings, which works
   across languages (a Dutch answer citing a French source) — and a lexical score — the share of
   the sentence's numbers and names that occur in the chunk sentence.

A sentence of three words or more left without a valid marker (small models cite the wrong
number, or forget the marker) is cited to the given chunk that supports it best, if one reaches
the same threshold: the citation is then as verified as any other, and the change is reported.
A sentence left without any citation stays, uncited, unless it holds a number or date that none
of the given chunks carries: that was made up, and is left out of the answer. Names are not held
to this: a translated name ("International Atomic Energy Agency" for "Internationaal
Atoomenergieagentschap") is often missing for no fault of the model (`docs/decisions.md`).

Every kept marker becomes a `Citation` carrying the best-supporting chunk sentence as its quote,
with character offsets into the source document. Removed and added markers are reported with
the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.answer import Citation, CitationChange, Quote
from assistant.grounding.specifics import lost_numbers, missing_specifics
from vectorstore.documents import ScoredChunk
from vectorstore.index.chunking import sentence_spans

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
# markers that open a sentence belong to the one before, with a full stop that follows them
LEADING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+[.!?…。]*")
KEY_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Z][\w'-]{2,}|\w*[A-Z]\w*[A-Z]\w*")
_SPACE_BEFORE_STOP = re.compile(r"\s+(?=[.,](?:\s|$))")
SUPPORT_THRESHOLD = 0.5

EmbedFn = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Claim:
    """One answer sentence and the marker numbers attached to it."""

    text: str  # the sentence without markers
    markers: tuple[int, ...]  # the source numbers of its [n] markers, as written
    new_paragraph: bool = False  # a blank line before it: the answer's paragraphs survive checks


def parse_claims(answer: str) -> list[Claim]:
    """Sentences of `answer` with their markers; markers after a full stop stay with it."""
    merged: list[tuple[str, bool]] = []
    previous_end = 0
    for start, end in sentence_spans(answer):
        sentence = answer[start:end]
        lead = LEADING_MARKERS.match(sentence)
        if lead and merged:
            merged[-1] = (merged[-1][0] + " " + lead.group(0).strip(), merged[-1][1])
            sentence = sentence[lead.end():]
        if sentence.strip():
            merged.append((sentence.strip(), bool(merged) and "\n\n" in answer[previous_end:start]))
        previous_end = end
    claims = []
    for sentence, new_paragraph in merged:
        markers = tuple(int(n) for m in MARKER.finditer(sentence)
                        for n in re.split(r"\s*[,;]\s*", m.group(1)))
        claims.append(Claim(strip_markers(sentence), markers, new_paragraph))
    return claims


def strip_markers(text: str) -> str:
    """The text without markers; "done [1]." becomes "done.", not "done ."."""
    return _SPACE_BEFORE_STOP.sub("", " ".join(MARKER.sub(" ", text).split()))


def _key_tokens(text: str) -> set[str]:
    """Numbers and names; a capitalised first word is just the start of the sentence.

    Looser than `assistant.grounding.specifics` on purpose: this scores support (a share), while
    specifics decide what a passage must carry; scoring support with the specifics instead
    abstained wrongly far more often (`docs/decisions.md`: `citations._key_tokens`).
    """
    tokens = [m for m in KEY_TOKEN.finditer(text) if m.start() > 0 or not m.group(0).istitle()]
    return {m.group(0).lower().replace(",", ".") for m in tokens}


def _lexical_support(claim: str, passage: str) -> float:
    keys = _key_tokens(claim)
    if not keys:
        return 0.0
    low = passage.lower().replace(",", ".")
    return sum(1 for k in keys if k in low) / len(keys)


@dataclass
class Verification:
    text: str  # the answer with unsupported markers removed or corrected
    citations: list[Citation]
    removed: list[CitationChange]
    added: list[CitationChange]
    claims: int


@dataclass(frozen=True, order=True)
class SourceSentence:
    text: str
    start: int  # offsets in the chunk's text
    end: int


@dataclass(frozen=True, order=True)
class Support:
    """How well one source backs one claim, ordered by `score`, then `semantic`: the better of
    semantic and lexical support, the semantic similarity, and the source's sentence closest to
    the claim (the quote)."""

    score: float
    semantic: float
    sentence: SourceSentence


def _sentences_of(hit: ScoredChunk) -> list[SourceSentence]:
    text = hit.chunk.text
    spans = [SourceSentence(text[s:e], s, e) for s, e in sentence_spans(text)]
    return spans or [SourceSentence(text, 0, len(text))]


class _Supports:
    """How well each given source supports each claim, embedding everything in one call."""

    def __init__(self, claims: list[Claim], context: Sequence[ScoredChunk], embed: EmbedFn,
                 question: str) -> None:
        self.context = context
        self.question = question
        self.passages = {n: _sentences_of(hit) for n, hit in enumerate(context, start=1)}
        self.everything = "\n".join(f"{hit.chunk.title}\n{hit.chunk.text}" for hit in context)
        flat = [(n, i) for n in self.passages for i in range(len(self.passages[n]))]
        texts = list(dict.fromkeys(c.text for c in claims if c.text))
        vectors = (embed(texts + [self.passages[n][i].text for n, i in flat]) if flat and texts
                   else np.zeros((0, 1)))
        self.claim_vec = dict(zip(texts, vectors[: len(texts)], strict=False))
        self.passage_vec = dict(zip(flat, vectors[len(texts):], strict=False))

    def of(self, claim: str, n: int) -> Support:
        """Source n's support for the claim: its best sentence's. A source that lacks one of the
        claim's numbers, dates, names or terms supports it not at all.

        The quote is the best-supporting sentence among those that carry every one of them: the
        sentence most like a claim is often its lead-in or a neighbour that shares its words,
        while the one that says what the claim adds (the value, the command, the menu) is a line
        further on — a highlight must fall on what the answer says. When no single sentence
        carries them all, the best-supporting one is the quote."""
        sentences = self.passages[n]
        candidates = [Support(max(semantic := float(self.claim_vec[claim] @ self.passage_vec[(n, i)]),
                                  _lexical_support(claim, sentences[i].text)), semantic, sentences[i])
                      for i in range(len(sentences))]
        best = max(candidates)
        if self.lacking(claim, n):
            return replace(best, score=0.0)
        carrying = [c for c in candidates
                    if not missing_specifics(claim, c.sentence.text, question=self.question)]
        if carrying:
            best = replace(best, sentence=max(carrying).sentence)
        return best

    def lacking(self, claim: str, n: int) -> list[str]:
        chunk = self.context[n - 1].chunk
        return missing_specifics(claim, chunk.text, chunk.title, self.question)


def _judge_markers(claim: Claim, scores: dict[int, Support], supports: _Supports,
                   threshold: float) -> tuple[list[int], list[CitationChange]]:
    """The claim's markers that stand, and the removed ones with the reason."""
    kept, removed = [], []
    for n in dict.fromkeys(claim.markers):
        if n not in supports.passages:
            removed.append(CitationChange(n, claim.text, f"no source [{n}] was given to the model"))
        elif scores and scores[n].score >= threshold:
            kept.append(n)
        else:
            lacking = supports.lacking(claim.text, n) if claim.text else []
            reason = (f"source [{n}] does not contain {', '.join(lacking)}" if lacking
                      else f"source [{n}] does not support this sentence")
            removed.append(CitationChange(n, claim.text, reason,
                                          round(scores[n].score, 3) if scores else 0.0))
    return kept, removed


def verify_citations(answer: str, context: Sequence[ScoredChunk], embed: EmbedFn,
                     threshold: float = SUPPORT_THRESHOLD, question: str = "") -> Verification:
    """Check every marker of `answer` against `context` (numbered from 1); see module doc."""
    claims = parse_claims(answer)
    supports = _Supports(claims, context, embed, question)
    best: dict[int, Citation] = {}
    quotes: dict[int, list[Quote]] = {}
    removed: list[CitationChange] = []
    added: list[CitationChange] = []
    kept_sentences: list[str] = []
    for claim in claims:
        scores = {n: supports.of(claim.text, n) for n in supports.passages} if claim.text else {}
        kept, dropped = _judge_markers(claim, scores, supports, threshold)
        removed += dropped
        backing = max(scores, key=lambda n: (scores[n].score, scores[n].semantic), default=None)
        if not kept and backing is not None and scores[backing].score >= threshold \
                and len(claim.text.split()) >= 3:
            # the model cited the wrong number, or forgot the marker: cite the source that
            # supports the sentence instead, and say so
            kept.append(backing)
            added.append(CitationChange(
                backing, claim.text,
                f"source [{backing}] supports this sentence; cited instead" if claim.markers
                else f"uncited sentence; source [{backing}] supports it",
                round(scores[backing].score, 3)))
        if not kept and claim.text and lost_numbers(claim.text, supports.everything):
            # a number or date that no source carries: the model made it up, and an uncited
            # sentence would still show it to the asker (its markers, if any, are in `removed`)
            continue
        for n in kept:
            citation = _citation(n, context[n - 1], scores[n])
            quotes.setdefault(n, []).append(Quote(claim.text, citation.quote, citation.start,
                                                  citation.end, citation.page))
            if n not in best or citation.support > best[n].support:
                best[n] = citation
        markers = "".join(f"[{n}]" for n in kept)
        sentence = f"{claim.text} {markers}".strip() if markers else claim.text
        kept_sentences.append(("\n\n" if claim.new_paragraph and kept_sentences else " ") + sentence)
    citations = [replace(best[n], quotes=tuple(quotes[n])) for n in sorted(best)]
    return Verification(text="".join(kept_sentences).strip(), citations=citations,
                        removed=removed, added=added, claims=len(claims))


def _citation(n: int, hit: ScoredChunk, support: Support) -> Citation:
    chunk, quote = hit.chunk, support.sentence
    return Citation(n=n, source_id=chunk.source_id, title=chunk.title, chunk_id=chunk.chunk_id,
                    quote=quote.text, start=chunk.start + quote.start, end=chunk.start + quote.end,
                    support=round(support.score, 3), section=chunk.section,
                    page=chunk.page_at(chunk.start + quote.start))


def cite_sentence(n: int, hit: ScoredChunk, text: str) -> Citation | None:
    """Source n's sentence `text` (whitespace aside) as a citation of itself, for pointing at a
    passage rather than backing a claim; None when the chunk has no such sentence."""
    wanted = " ".join(text.split())
    for sentence in _sentences_of(hit):
        if " ".join(sentence.text.split()) == wanted:
            return _citation(n, hit, Support(1.0, 1.0, sentence))
    return None
