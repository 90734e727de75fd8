"""The ceiling benchmark's reading side: it finds each question's evidence in the text the
loaders make (as `kenbron eval` compares text), so every evidence string of both dev sets must be
there — the readers keep every passage a question is answered from."""

from __future__ import annotations

import pytest

from assistant.evaluation.questions import load_questions
from benchmarks.ceiling import WINDOW, evidence_window, locate
from tests.conftest import REPO
from vectorstore.readers.loaders import load_file

DEV_SETS = [(REPO / "eval" / "questions.dev.jsonl", REPO / "data" / "corpus"),
            (REPO / "eval" / "realdocs" / "questions.dev.jsonl", REPO / "eval" / "realdocs" / "corpus")]


def test_locate_compares_as_the_evaluation_does():
    text = "Intro.\n\nHet  “Beeld”\nmenu opent   ZOOMEN. Rest."
    start, end = locate(text, 'het "beeld" menu opent zoomen')
    assert text[start:end] == "Het  “Beeld”\nmenu opent   ZOOMEN"
    assert locate(text, "niet hier") is None and locate(text, "") is None


@pytest.mark.slow
@pytest.mark.parametrize(("questions", "corpus"), DEV_SETS, ids=["news", "realdocs"])
def test_every_evidence_string_is_in_the_parsed_sources(questions, corpus):
    texts: dict[str, str] = {}
    checked = 0
    for question in load_questions(questions):
        for evidence in question.evidence:
            found = False
            for source in question.sources:
                text = texts.setdefault(source, load_file(corpus / source).text)
                found = found or locate(text, evidence) is not None
            assert found, (question.sources, evidence)
            checked += 1
        if question.answerable and question.evidence:
            source, window = evidence_window(question, corpus, texts)
            assert source in question.sources and len(window) <= 2 * WINDOW + 2000
    assert checked >= 70
