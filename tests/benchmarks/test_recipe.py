"""`benchmarks/recipe.py`: the LangChain tutorial's pipeline, the baseline the unseen question
sets also measure, run and scored the way `kenbron eval` runs and scores Kenbron."""

from __future__ import annotations

from assistant.evaluation.questions import Question
from assistant.evaluation.report import build_report
from benchmarks.recipe import answer, build_store, load_corpus
from tests.assistant.pipeline.test_chain import fake


def test_the_tutorial_recipe_baseline_is_scored_like_kenbron(tmp_path, use_embeddings):
    """Files read as the tutorial reads them, the 4 nearest chunks in its prompt, its answers
    scored by Kenbron's own metrics, "I don't know" counted as abstaining."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sluis.html").write_text(
        "<html><body><nav>Vorige</nav><p>De nieuwe <em>zeesluis</em> opende in <b>maart</b> "
        "2024.</p></body></html>", encoding="utf-8")
    (tmp_path / "docs" / "haven.txt").write_text("Le port a accueilli 4 812 navires.", encoding="utf-8")
    docs = load_corpus(tmp_path / "docs")
    assert {d.metadata["source"] for d in docs} == {"sluis.html", "haven.txt"}
    assert any("Vorige" in d.page_content for d in docs)  # the recipe keeps the navigation
    store = build_store(tmp_path / "docs", use_embeddings)
    asked = Question(id="q1", question="Wanneer opende de zeesluis?", language="nl",
                     category="fact", answerable=True, sources=["sluis.html"],
                     evidence=["opende in maart"], must_include=[["maart"]])
    unknown = Question(id="q2", question="Wie bouwde de sluis?", language="nl",
                       category="unanswerable", answerable=False)
    records = [answer(store, fake("De zeesluis opende in maart 2024."), asked),
               answer(store, fake("I don't know."), unknown)]
    model = fake("x")
    answer(store, model, asked)
    prompt = model.seen[0][-1].content
    assert "Question: Wanneer opende de zeesluis?" in prompt and "zeesluis" in prompt.split("Context:")[1]
    assert [r.abstained for r in records] == [False, True]
    metrics = build_report(records, 4, {}).overall
    assert metrics.answer_accuracy == 1.0 and metrics.abstention_unanswerable == 1.0
    assert metrics.hit_at_k == 1.0 and metrics.citation_precision is None
