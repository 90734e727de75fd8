"""Follow-up suggestions: made from the headings of retrieved passages, in the asker's language,
each one finding its own passage again (real manual pages, real embeddings, BM25 and Chroma)."""

from __future__ import annotations

import shutil

import pytest

from assistant.pipeline.chain import Assistant
from assistant.pipeline.suggestions import topic_of
from assistant.settings import Settings
from tests.conftest import REPO
from vectorstore.documents import SECTION_SEPARATOR
from vectorstore.index.embeddings import make_embeddings
from vectorstore.index.ingest import ChunkingConfig

REALDOCS = REPO / "eval" / "realdocs" / "corpus" / "nl"
PAGES = ("gimp-using-selections.html", "gimp-view-zoom.html")  # pages no dev question is about


@pytest.fixture(scope="module")
def gemma():
    return make_embeddings("gemma", model_dir=Settings.from_env().embedding_model_dir)


@pytest.mark.slow
def test_follow_ups_name_other_sections_in_the_askers_language_and_find_them(make_kb, gemma, tmp_path):
    """Two real manual pages, the default embeddings and the backend without a model (a Space)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in PAGES:
        shutil.copy(REALDOCS / name, docs / name)
    kb = make_kb(data_dir=tmp_path / "data", embeddings=gemma, chunking=ChunkingConfig())
    kb.ingest([docs])
    assistant = Assistant(Settings.from_env(data_dir=tmp_path / "data", backend="extractive"),
                          knowledge_base=kb)
    for question, forms in (
            ("Hoe zoom ik in op een afbeelding?", ("Wat staat er in “", "Wat zeggen de documenten over “")),
            ("How do I zoom into an image?", ("What does “", "What do the documents say about “"))):
        answer = assistant.ask(question)
        offered = assistant.follow_ups(answer)
        assert offered and len(offered) <= 3 and all(q.startswith(forms) for q in offered), offered
        answered = 0
        for follow_up in offered:  # each finds its own passage again; most are answered from it
            reply = assistant.ask(follow_up)
            topic = follow_up.rsplit("“", 1)[1].rstrip("”?")
            assert any((h.chunk.section or "").split(SECTION_SEPARATOR)[-1].endswith(topic)
                       or h.chunk.title == topic for h in reply.retrieved), follow_up
            answered += not reply.abstained and bool(reply.citations)
        assert answered >= 1, offered


def test_a_topic_is_a_short_heading_with_its_place_or_a_short_title(make_kb, tmp_path):
    from vectorstore.documents import Chunk, ScoredChunk

    def hit(section: str | None, title: str) -> ScoredChunk:
        return ScoredChunk(Chunk("c", "d", title, "text", 0, 4, 0, "nl", "h", section=section), 1.0)

    path = SECTION_SEPARATOR.join(["3.9. Gum", "3.9.1. Het gereedschap activeren"])
    assert topic_of(hit(path, "GIMP")) == ("Het gereedschap activeren", "Gum")
    assert topic_of(hit("2 Tarieven", "Veerdienst")) == ("Tarieven", "Veerdienst")
    assert topic_of(hit(None, "Interview met de burgemeester")) == ("Interview met de burgemeester", None)
    assert topic_of(hit(None, "Een kop die een hele zin is en halverwege wordt afgebroken met…")) is None
