"""Metrics on hand-built cases, recomputation from results.jsonl, strict question files, RAGAS."""

from __future__ import annotations

import json

import pytest

from assistant.evaluation.budget import error_budget, stage_of
from assistant.evaluation.metrics import compute_metrics, hit_rank, normalise
from assistant.evaluation.questions import QuestionSetError, load_questions
from assistant.evaluation.records import EvalRecord
from assistant.evaluation.report import Report, build_report
from assistant.evaluation.run import markdown_report, ragas_samples, write_outputs
from tests.conftest import REPO


def record(**kw):
    base = {
        "id": "q", "question": "Hoeveel?", "question_language": "nl", "category": "fact",
        "answerable": True, "sources": ["a.txt"], "evidence": ["negen doden"],
        "must_include": [["9", "negen"]], "reference_answer": "Negen.",
        "retrieved": [], "context_chunk_ids": [], "answer": "", "citations": [],
        "abstained": False, "language": "nl", "timings": {"retrieval_ms": 10, "total_ms": 100},
        "error": None,
    }
    base.update(kw)
    return EvalRecord.from_dict(base)


def chunks(*texts, source="a.txt"):
    return [{"rank": i + 1, "source": source, "chunk_id": f"c{i}", "text": t}
            for i, t in enumerate(texts)]


def test_hit_at_rank_three_gives_mrr_one_third():
    r = record(retrieved=chunks("niets", "nog niets", "Er vielen “negen   doden” volgens het rapport"))
    assert hit_rank(r, 5) == 3
    m = compute_metrics([r], 5)
    assert m.rate("mrr") == pytest.approx(1 / 3, abs=1e-4)
    assert m.rate("hit@1") == 0.0 and m.rate("hit@k") == 1.0
    assert compute_metrics([r], 2).rate("hit@k") == 0.0


def test_normalisation():
    assert normalise("L’Autopilot  de\u00a0Tesla") == "l'autopilot de tesla"


def test_invented_citation_lowers_precision():
    good = {"n": 1, "source": "a.txt", "chunk_id": "c0"}
    invented = {"n": 7, "source": "a.txt", "chunk_id": "zz"}
    wrong_source = {"n": 2, "source": "b.txt", "chunk_id": "c1"}
    r = record(context_chunk_ids=["c0", "c1"], citations=[good, invented, wrong_source],
               answer="Negen doden [1][7][2]")
    m = compute_metrics([r], 5)
    assert m.rate("citation_precision") == pytest.approx(1 / 3, abs=1e-4)
    assert m.rate("citation_recall") == 1.0
    assert m.rate("answer_accuracy") == 1.0


def test_abstention_counts():
    unanswerable = record(answerable=False, category="unanswerable", sources=[], evidence=[],
                          must_include=[], abstained=True, answer="Dat staat niet in de documenten.")
    wrong = record(abstained=True, answer="Dat staat niet in de documenten.")
    m = compute_metrics([unanswerable, wrong], 5)
    assert m.rate("abstention_unanswerable") == 1.0
    assert m.rate("wrong_abstention") == 1.0
    assert m.rate("answer_accuracy") == 0.0
    only_unanswerable = compute_metrics([unanswerable], 5)
    assert only_unanswerable.rate("hit@1") is None and only_unanswerable.rate("wrong_abstention") is None


def test_answer_in_wrong_language_is_reported():
    r = record(answer="The article linked the assistant to nine deaths according to Musk.")
    assert compute_metrics([r], 5).rate("answer_language_ok") == 0.0
    ok = record(answer="Het artikel koppelde de assistent volgens Musk aan negen doden.")
    assert compute_metrics([ok], 5).rate("answer_language_ok") == 1.0
    # a quotation keeps its source's language; the words around it are the answer's
    quoting = record(answer="Musk koppelde de assistent aan negen doden [1]. In de woorden van de "
                            "bron: “The article linked the assistant to nine deaths according to "
                            "Musk.” [1]")
    assert compute_metrics([quoting], 5).rate("answer_language_ok") == 1.0
    only_quote = record(answer="Volgens de bron: “The article linked the assistant to nine deaths "
                               "according to Musk, who said so twice.” [1]")
    assert compute_metrics([only_quote], 5).rate("answer_language_ok") == 1.0


def test_report_recomputes_from_results_file(tmp_path):
    records = [
        record(id="a", retrieved=chunks("negen doden"), answer="Negen [1]", context_chunk_ids=["c0"],
               citations=[{"n": 1, "source": "a.txt", "chunk_id": "c0"}]),
        record(id="b", question_language="en", category="cross_lingual",
               retrieved=chunks("x", "negen doden"), answer="Nine [2]", language="en",
               context_chunk_ids=["c0", "c1"], citations=[{"n": 2, "source": "a.txt", "chunk_id": "c1"}]),
        record(id="c", answerable=False, category="unanswerable", sources=[], evidence=[],
               must_include=[], abstained=True, answer="The documents don't say.", language="en",
               question_language="en"),
    ]
    config = {"version": "t", "backend": "x", "embedding": "e", "k": 5, "chunking": "c"}
    report = build_report(records, 5, config)
    write_outputs(tmp_path, records, report)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    reread = [EvalRecord.from_dict(json.loads(line)) for line in lines]
    recomputed = build_report(reread, 5, config)
    written = json.loads((tmp_path / "report.json").read_text())
    assert recomputed.to_dict() == written and Report.from_dict(written) == recomputed
    assert report.overall.mrr == pytest.approx(0.75)
    assert report.by_language["en"].questions == 2
    assert "### c" not in markdown_report(report, records)  # correct abstention is no failure


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "x", "question": "q"', "line 2: not valid JSON"),
    ('{"id": "x", "question": "q", "language": "nl", "category": "fact", "answerable": true, '
     '"colour": 1}', "line 2: unknown field(s) colour"),
    ('{"id": "x", "question": "q", "language": "nl", "category": "fact"}',
     "line 2: missing required field(s) answerable"),
    ('{"id": "x", "question": "q", "language": "de", "category": "fact", "answerable": true}',
     "line 2: language"),
])
def test_bad_question_files_name_the_line(tmp_path, line, message):
    good = '{"id": "ok", "question": "q", "language": "nl", "category": "fact", "answerable": true}'
    path = tmp_path / "q.jsonl"
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_questions(path)


def _import_ragas():
    """ragas 0.4.3 imports `langchain_community.chat_models.vertexai` at start-up, a module that
    langchain-community 0.4 (the line compatible with langchain-core 1.x) no longer has; ragas
    only uses it to recognise Vertex models. Register an empty stand-in so ragas imports."""
    import sys
    import types

    name = "langchain_community.chat_models.vertexai"
    try:
        __import__(name)
    except ImportError:
        stand_in = types.ModuleType(name)
        stand_in.ChatVertexAI = type("ChatVertexAI", (), {})
        sys.modules[name] = stand_in
    import ragas

    return ragas


def test_ragas_export_loads_and_scores(tmp_path):
    ragas = _import_ragas()
    from ragas import EvaluationDataset
    from ragas.metrics import NonLLMContextRecall

    evidence = ["Er vielen negen doden volgens het rapport."]
    records = [record(retrieved=chunks(evidence[0]), answer="Negen doden [1]",
                      reference_answer="Negen doden.", evidence=evidence),
               record(retrieved=chunks("De haven van Vlaardam ontving vorig jaar meer schepen."),
                      answer="Negen doden [1]", reference_answer="Negen doden.", evidence=evidence)]
    dataset = EvaluationDataset.from_list(ragas_samples(records))
    metric = NonLLMContextRecall()
    # the retrieved chunks and the evidence reach ragas as its contexts: found, then not found
    assert metric.single_turn_score(dataset.samples[0]) == pytest.approx(1.0)
    assert metric.single_turn_score(dataset.samples[1]) == pytest.approx(0.0)
    assert ragas.__version__


def test_judge_scores_known_verdicts_and_skips_abstentions():
    """Faithfulness is the share of YES verdicts; relevance the mean cosine of generated questions."""
    import numpy as np
    from langchain_core.language_models import FakeListChatModel

    from assistant.evaluation.judge import Judge, judge_records, judge_report

    chat = FakeListChatModel(responses=[
        "Altman ziet drie onderdelen => YES\nHet is een bank => NO",
        "1. Welke onderdelen ziet Altman?\n2. Wat ziet Altman in OpenAI?",
    ])

    def embed(texts):  # the question and the first generated question coincide; the second is orthogonal
        vectors = {0: [1.0, 0.0], 1: [1.0, 0.0], 2: [0.0, 1.0]}
        return np.asarray([vectors[i] for i in range(len(texts))])

    answered = record(question="Welke onderdelen ziet Altman?",
                      answer="Altman ziet drie onderdelen [1]. Het is een bank [2].",
                      retrieved=chunks("Altman ziet drie onderdelen."))
    abstained = record(**{**answered.to_dict(), "abstained": True, "question_language": "en"})
    answered, abstained = records = judge_records(Judge(chat, embed, "fake"), [answered, abstained])
    assert answered.judge["faithfulness"] == 0.5 and answered.judge["statements"] == 2
    assert answered.judge["answer_relevance"] == 0.5
    assert abstained.judge is None
    report = judge_report(records, "fake")
    assert report["overall"]["judged"] == 1 and report["overall"]["faithfulness"] == 0.5
    assert report["by_language"]["en"]["judged"] == 0
    assert set(report["definitions"]) == {"faithfulness", "answer_relevance"}


def test_dev_sets_summary_puts_both_sets_side_by_side_by_half(tmp_path):
    """`python -m assistant.evaluation.run DIR` (scripts/eval-dev-sets) on the committed reports."""
    import shutil

    from assistant.evaluation.run import main

    repo = REPO
    for name in ("news", "realdocs"):
        (tmp_path / name).mkdir()
        shutil.copy(repo / "eval" / "dev-sets" / name / "report.json", tmp_path / name)
    assert main([str(tmp_path)]) == 0
    lines = (tmp_path / "summary.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| metric"))
    assert header == "| metric | news tune | news check | realdocs tune | realdocs check |"
    questions = next(line for line in lines if line.startswith("| questions"))
    assert questions == "| questions | 31 | 38 | 30 | 30 |"


HIT = chunks("Er vielen negen doden.")


@pytest.mark.parametrize(("fields", "stage"), [
    ({"answer": "Negen [1].", "draft": "Negen [1].", "model_answer": "Negen [1]."}, "right"),
    ({"retrieved": chunks("niets"), "answer": "Twee."}, "not retrieved"),
    ({"abstained": True, "abstain_reason": "key_terms"}, "gate: key_terms"),
    ({"abstained": True, "abstain_reason": "model", "draft": "NOT_FOUND"}, "model declined"),
    ({"answer": "Twee [1].", "draft": "Twee [1].", "model_answer": "Twee [1]."}, "model wrong"),
    # a right draft the checks turned into an abstention, or cut
    ({"abstained": True, "abstain_reason": "unsupported", "draft": "Negen [1]."},
     "verification removed a right answer"),
    ({"answer": "Er vielen doden [1].", "draft": "Negen [1] en [2].",
      "model_answer": "Er vielen doden [1]."}, "verification removed a right answer"),
    # a right verified answer the quote step replaced by a sentence that lacks it
    ({"answer": "Er vielen doden [1].", "draft": "Negen [1].", "model_answer": "Negen [1]."},
     "quote step replaced a right answer"),
    # written before drafts were kept: the stage between the model and the checks is unknown
    ({"answer": "Twee."}, "model wrong or checks (no draft recorded)"),
    ({"answerable": False, "must_include": [], "answer": "Negen."},
     "answered an unanswerable question"),
    ({"answerable": False, "must_include": [], "abstained": True}, "abstained, unanswerable"),
    ({"error": "model stopped"}, "error"),
])
def test_error_budget_names_the_stage_that_decided_each_question(fields, stage):
    r = record(**{"retrieved": HIT, **fields})
    assert stage_of(r, 5) == stage
    assert error_budget([r], 5)[stage] == 1


def test_error_budget_counts_what_each_step_gained_and_is_in_the_reports(tmp_path):
    gained = record(retrieved=HIT, answer="Er vielen negen doden [1].", draft="Veel [1].",
                    model_answer="Veel [1].")
    lost = record(retrieved=HIT, answer="Er vielen doden [1].", draft="Negen [1].",
                  model_answer="Negen [1].")
    stopped = record(retrieved=HIT, abstained=True, abstain_reason="unsupported", draft="Twee [1].")
    gated = record(answerable=False, must_include=[], abstained=True, abstain_reason="key_terms")
    budget = error_budget([gained, lost, stopped, gated], 5)
    assert budget == {"right": 1, "abstained, unanswerable": 1, "model wrong": 1,
                      "quote step replaced a right answer": 1,
                      "quote step made a wrong answer right": 1,
                      "verification stopped a wrong answer": 1,
                      "gate stopped an unanswerable question": 1}
    report = build_report([gained, lost, stopped, gated], 5, {})
    assert report.budget["overall"] == budget
    assert Report.from_dict(json.loads(json.dumps(report.to_dict()))).budget == report.budget
    text = markdown_report(report, [gained, lost])
    assert "| quote step replaced a right answer | 1 |" in text
    assert "| verification stopped a wrong answer | 1 |" in text


def test_not_sure_is_neither_an_answer_nor_an_abstention():
    """'Not sure' counts as no answer for accuracy and the share of answers given that are right,
    as abstaining on an unanswerable question, and apart from wrong abstentions; the budget says
    whether the answer it withheld was right."""
    right = record(retrieved=HIT, answer="Negen [1].")
    wrong = record(retrieved=HIT, answer="Twee [1].")
    doubted = record(retrieved=HIT, answer="Niet zeker. “Er vielen negen doden.” [1]", unsure=True,
                     withheld="Negen [1].")
    unanswerable = record(answerable=False, must_include=[], answer="Niet zeker.", unsure=True,
                          withheld="Negen.")
    m = compute_metrics([right, wrong, doubted, unanswerable], 5)
    assert m.rate("answer_accuracy") == pytest.approx(1 / 3, abs=1e-4)
    assert m.rate("answers_right") == 0.5  # of the two answers given
    assert m.rate("not_sure") == 0.5 and m.rate("wrong_abstention") == 0.0
    assert m.rate("abstention_unanswerable") == 1.0
    assert stage_of(doubted, 5) == "not sure, the withheld answer was right"
    assert stage_of(unanswerable, 5) == "not sure, unanswerable"


def test_risk_coverage_trades_wrong_answers_for_coverage_by_confidence(tmp_path):
    """Raising the threshold turns the least confident answers into "not sure": coverage falls,
    the share of wrong answers given falls when the confidence ranks them last, and an answer to
    an unanswerable question is a wrong one; a "not sure" is scored by the answer it withheld."""
    from assistant.evaluation.budget import risk_coverage

    right = record(retrieved=HIT, answer="Negen [1].", confidence=0.9)
    doubted_right = record(retrieved=HIT, answer="Niet zeker.", unsure=True, withheld="Negen [1].",
                           confidence=0.45)
    wrong = record(retrieved=HIT, answer="Twee [1].", confidence=0.3)
    unanswerable = record(answerable=False, must_include=[], answer="Negen.", confidence=0.2)
    abstained = record(abstained=True, abstain_reason="key_terms")
    curve = {p.threshold: p for p in risk_coverage([right, doubted_right, wrong, unanswerable,
                                                    abstained])}
    assert (curve[0.0].coverage, curve[0.0].risk) == (0.8, 0.5)
    assert (curve[0.4].coverage, curve[0.4].risk) == (0.4, 0.0)
    assert curve[0.4].abstention_unanswerable == 1.0 and curve[0.0].abstention_unanswerable == 0.0
    assert curve[0.5].wrong_abstention == 0.75  # the doubted right one, the wrong one, the gate
    report = build_report([right, doubted_right, wrong, unanswerable, abstained], 5, {})
    assert "## Risk–coverage" in markdown_report(report, [right])
    again = Report.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.risk_coverage == report.risk_coverage


def test_calibration_fits_signals_to_right_answers_and_picks_an_operating_point():
    """Answers whose citations are backed strongly are right, weakly backed ones wrong: the fit
    weighs support up, and the operating point keeps the first and withholds the second."""
    from assistant.answer import Signals
    from assistant.evaluation import calibration

    records = []
    for i in range(40):
        strong = i % 2 == 0
        signals = Signals(support=0.9 if strong else 0.55, best_cited=i % 3 != 0,
                          evidence=0.5 + (i % 5) / 20)
        records.append(record(id=f"q{i}", retrieved=HIT, signals=signals.to_dict(),
                              answer="Negen [1]." if strong else "Twee [1]."))
    weights = calibration.fit(records)
    assert weights["support"] > 1.0
    scored = calibration.rescored(records, weights)
    point = calibration.operating_point(scored)
    assert all((r.confidence >= point) == calibration.right(r) for r in scored)
