"""The decisions to abstain (`assistant.grounding.abstention`), each on its own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assistant.answer import AbstainReason
from assistant.grounding import abstention
from assistant.grounding.citations import verify_citations
from vectorstore.documents import Chunk, ScoredChunk

HARBOUR = ("In 2025 ontving de haven van Vlaardam 4.812 zeeschepen. Havenmeester Ilse Brandt "
           "schrijft de groei toe aan de nieuwe zeesluis.")


def _hit(text: str, language: str = "nl") -> ScoredChunk:
    chunk = Chunk(chunk_id="h@v#0", source_id="haven.txt", title="Haven van Vlaardam", text=text,
                  start=0, end=len(text), position=0, language=language, doc_hash="h")
    return ScoredChunk(chunk, 1.0, rank=1)


def _embed_same(texts: list[str]) -> np.ndarray:
    return np.ones((len(texts), 4), dtype=np.float32) / 2.0


def test_before_reading_nothing_retrieved_or_a_missing_name():
    assert abstention.before_reading("Hoeveel schepen?", [], "nl") is AbstainReason.NO_SOURCES
    missing = "Hoeveel schepen ontving de haven van Rotterdam in 2025?"
    assert abstention.before_reading(missing, [_hit(HARBOUR)], "nl") is AbstainReason.KEY_TERMS
    present = "Hoeveel schepen ontving de haven van Vlaardam in 2025?"
    assert abstention.before_reading(present, [_hit(HARBOUR)], "nl") is None


def test_declined_is_the_models_signal_or_nothing():
    assert abstention.declined("NOT_FOUND", calls_model=True) is AbstainReason.MODEL
    assert abstention.declined("niet_found", calls_model=True) is AbstainReason.MODEL
    assert abstention.declined("  ", calls_model=False) is AbstainReason.UNSUPPORTED
    assert abstention.declined("De haven groeide [1].", calls_model=True) is None


def test_after_verifying_needs_a_citation_and_for_a_quantity_a_number():
    question = "Hoeveel zeeschepen ontving de haven van Vlaardam in 2025?"
    answered = verify_citations("De haven ontving 4.812 zeeschepen [1].", [_hit(HARBOUR)], _embed_same)
    assert abstention.after_verifying(answered, question) is None
    restated = verify_citations("De haven ontving zeeschepen [1].", [_hit(HARBOUR)], _embed_same)
    assert restated.citations
    assert abstention.after_verifying(restated, question) is AbstainReason.NO_NUMBER
    assert abstention.after_verifying(restated, "Waaraan schrijft Brandt de groei toe?") is None
    uncited = verify_citations("De haven ontving 7.000 zeeschepen [1].", [_hit(HARBOUR)], _embed_same)
    assert abstention.after_verifying(uncited, question) is AbstainReason.UNSUPPORTED


def test_confidence_falls_with_each_sign_of_doubt():
    """Each signal moves the confidence the way its reason says: an answer that is well backed,
    cites the best passage and has a source sentence close to the question clears the operating
    point; one that rests on another passage while evidence is weak does not."""
    from assistant.answer import Signals

    sure = Signals(support=0.95, best_cited=True, evidence=0.8)
    assert abstention.confidence(sure) >= abstention.NOT_SURE_BELOW
    for doubt in (dict(support=0.55), dict(best_cited=False), dict(evidence=0.5)):
        assert abstention.confidence(replace(sure, **doubt)) < abstention.confidence(sure), doubt
    weak = Signals(support=0.52, best_cited=False, evidence=0.5)
    assert abstention.confidence(weak) < abstention.NOT_SURE_BELOW
    assert 0.0 <= abstention.confidence(weak) < abstention.confidence(sure) <= 1.0
