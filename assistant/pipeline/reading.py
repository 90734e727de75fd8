"""What the model reads, and how its answer's language is checked.

The model does not read the retrieved chunks whole: `excerpts` gives it the sentences closest to
the question, each with the one after it. `foreign_sentences` finds the answer sentences a
small model left in the source's language; `in_their_words` quotes source sentences as written
(`quoted`), and `without_quotations` is an answer as its language is judged (a quotation keeps
the source's).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant import prompts
from assistant.grounding.citations import parse_claims
from assistant.grounding.extractive import RankedSentence, rank_sentences
from vectorstore.documents import ScoredChunk
from vectorstore.index.chunking import sentence_spans
from vectorstore.language import detect_language
from vectorstore.text import normalise, says_something


def excerpts(question: str, hits: Sequence[ScoredChunk], knowledge_base, budget: int) -> list[str]:
    """What the model reads of each hit: the `budget` sentences of all hits most similar to the
    question (`KENBRON_EVIDENCE_SENTENCES`), each with the sentence after it, in document order;
    "" for a hit none of whose sentences was chosen (it is left out of the prompt).

    Picked sentences rather than whole chunks: a 1.5B model reading fewer, better-chosen
    sentences cites more precisely and abstains more often when nothing answers, and every
    prompt token delays the first one (`docs/decisions.md`: `reading.excerpts`; reading the best
    passage whole was tried and lost answers). The next sentence rides along because an answer
    often follows the sentence that matches the question (a quote after its attribution, a list
    after its lead-in). Similarity is from the knowledge base's stored sentence vectors, so
    nothing is embedded here. Verification still checks claims
    against the whole chunk. With a budget of 0 every chunk is given whole.
    """
    if budget <= 0:
        return [hit.chunk.text for hit in hits]
    spans = [sentence_spans(hit.chunk.text) for hit in hits]
    keys = [[_key(hit.chunk.text[slice(*span)]) for span in own]
            for hit, own in zip(hits, spans, strict=True)]
    chosen: list[set[int]] = [set() for _ in hits]
    for ranked in rank_sentences(question, hits, knowledge_base, pool=max(12, 3 * budget))[:budget]:
        i = ranked.source - 1
        if _key(ranked.text) in keys[i]:
            at = keys[i].index(_key(ranked.text))
            chosen[i].update(range(at, min(at + 2, len(keys[i]))))
    out, shown = [], set()
    for hit, own, picked, own_keys in zip(hits, spans, chosen, keys, strict=True):
        parts = [hit.chunk.text[slice(*own[j])] for j in sorted(picked) if own_keys[j] not in shown]
        shown.update(own_keys[j] for j in picked)
        out.append(" … ".join(parts))
    return out


# a quotation as `in_their_words` writes it, and as sources and models write them
_QUOTATION = re.compile(r"“[^“”]*”|«[^«»]*»|„[^„“”]*[“”]")


def quoted(sentence: str, source: int) -> str:
    """A source sentence quoted as written, with its marker: how answers quote (`_QUOTATION`
    recognises it)."""
    return f"“{sentence}” [{source}]"


def in_their_words(sentences: Sequence[RankedSentence], language: str) -> str:
    """The sentences of `sentences` that are not in `language`, quoted as written, each with its
    marker, after a lead-in in `language`; "" when all are in `language`.

    Why: a 1.5B model translating a right quote now and then loses or garbles the words that
    answer (a name dropped, a word left in the other language, an invented one); the source's
    own words, shown after the translation, keep them. English quotation marks in every
    language: the sentence splitter ends a sentence at `.”`, while French `. »` would leave the
    closing mark to the next sentence."""
    foreign = [s for s in sentences if foreign_sentences(s.text, language)]
    if not foreign:
        return ""
    quotes = " ".join(quoted(s.text, s.source) for s in foreign)
    return f"{prompts.message(language, 'in_their_words')} {quotes}"


def without_quotations(text: str) -> str:
    """`text` without its quotations: what is left is in the writer's own language."""
    return _QUOTATION.sub(" ", text)


def _key(sentence: str) -> str:
    """A sentence as compared for repeats: case and spacing do not count."""
    return normalise(sentence, nfkc=False)


def foreign_sentences(text: str, language: str) -> list[str]:
    """Sentences of the answer, four words or longer, that are not in `language`: a small model
    sometimes copies a source sentence untranslated into its answer."""
    return [claim.text for claim in parse_claims(text)
            if says_something(claim.text) and detect_language(claim.text) != language]


