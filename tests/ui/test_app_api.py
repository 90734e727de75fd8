"""The running app driven through its `/ask` API with gradio_client."""

from __future__ import annotations

import json
import time

import pytest
from gradio_client import Client, handle_file

from tests.conftest import REALDOCS, SAMPLE_QUESTIONS, start_app, stop

# answered in the French article
FRENCH_QUESTION = "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?"
DUTCH_QUESTION = "Met wie had Sam Altman een verhitte woordenwisseling op sociale netwerken?"


def test_ask_returns_answer_json(extractive_app):
    client = Client(extractive_app, verbose=False)
    result = client.predict(FRENCH_QUESTION, "[]", api_name="/ask")
    assert result["abstained"] is False
    assert result["language"] == "fr"
    assert result["citations"], result
    cited = result["citations"][0]
    assert cited["source"] == "001_be6fdfb56eccf482.txt"
    assert cited["quote"] and cited["end"] > cited["start"]
    assert cited["chunk_id"] in result["context_chunk_ids"]


def test_answers_go_on_while_an_upload_is_ingested(extractive_app):
    """Six real manual pages are embedded (seconds of the CPU's time) while questions about the
    published articles keep being answered, with citations; then the pages are listed."""
    client = Client(extractive_app, verbose=False)
    pages = sorted((REALDOCS / "corpus" / "fr").glob("*.html"))[:6]
    job = client.submit([handle_file(p) for p in pages], "", api_name="/ingest")
    answered_meanwhile = 0
    while not job.done():
        result = client.predict(FRENCH_QUESTION, "[]", api_name="/ask")
        assert result["citations"] and not result["abstained"], result
        answered_meanwhile += not job.done()
    rows = job.result()["data"]  # the results table (the documents table follows in its own step)
    assert [row[1] for row in rows] == ["added"] * len(pages), rows
    assert answered_meanwhile >= 1


FERRY = ("Veerdienst Oosterwaal\n\nDe veerpont van Oosterwaal vaart elk half uur tussen de "
         "kade en het eiland. Een enkele overtocht kost 3 euro voor voetgangers.\n")  # invented
FERRY_QUESTION = "Wat kost een enkele overtocht met de veerpont van Oosterwaal voor voetgangers?"


def test_a_collection_is_created_filled_and_asked_through_both_apis(extractive_app, tmp_path):
    """`/create_collection`, `/ingest` into it and `/ask` within it (gradio_client); the same
    collection as the model `kenbron:NAME` of the OpenAI-compatible API (the `openai` client).
    The default collection neither lists nor retrieves what went into the new one."""
    import openai

    client = Client(extractive_app, verbose=False)
    chosen, _, notice = client.predict("veerdiensten", "", api_name="/create_collection")
    assert chosen["value"] == "veerdiensten" and "veerdiensten" in notice
    _, _, refused = client.predict("veerdiensten", "", api_name="/create_collection")
    assert "already" in refused
    _, _, refused = client.predict("veer diensten", "", api_name="/create_collection")
    assert "letters, digits" in refused
    (tmp_path / "veer.txt").write_text(FERRY, encoding="utf-8")
    rows = client.predict([handle_file(tmp_path / "veer.txt")], "", "veerdiensten",
                          api_name="/ingest")["data"]
    assert rows == [["veer.txt", "added", ""]]

    within = client.predict(FERRY_QUESTION, "[]", "veerdiensten", api_name="/ask")
    assert not within["abstained"] and {c["source"] for c in within["citations"]} == {"veer.txt"}
    assert "3 euro" in within["answer"]
    default = client.predict(FERRY_QUESTION, "[]", api_name="/ask")
    assert all(hit["source"] != "veer.txt" for hit in default["retrieved"])
    with pytest.raises(Exception, match="no collection"):
        client.predict(FERRY_QUESTION, "[]", "nergens", api_name="/ask")

    api = openai.OpenAI(base_url=extractive_app + "/v1", api_key="none", max_retries=0, timeout=120)
    assert {m.id for m in api.models.list()} >= {"kenbron", "kenbron:veerdiensten"}
    reply = api.chat.completions.create(model="kenbron:veerdiensten",
                                        messages=[{"role": "user", "content": FERRY_QUESTION}])
    assert reply.model == "kenbron:veerdiensten"
    assert {c["source"] for c in reply.model_extra["kenbron"]["citations"]} == {"veer.txt"}
    with pytest.raises(openai.NotFoundError, match="unknown model"):
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hoi"}])


def test_unanswerable_question_abstains(extractive_app):
    client = Client(extractive_app, verbose=False)
    result = client.predict("Wie is de CEO van Mistral?", "[]", api_name="/ask")
    assert result["abstained"] is True
    assert result["citations"] == []
    assert "niet in de documenten" in result["answer"]


def test_bad_input_is_a_clear_error(extractive_app):
    client = Client(extractive_app, verbose=False)
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", "[]", api_name="/ask")
    with pytest.raises(Exception, match="limit"):
        client.predict("waarom " * 1000, "[]", api_name="/ask")
    with pytest.raises(Exception, match="JSON"):
        client.predict("Wat is Sora?", "{not json", api_name="/ask")


def test_follow_up_uses_history(extractive_app):
    client = Client(extractive_app, verbose=False)
    history = json.dumps([["Qui poursuit OpenAI en justice ?", "Elon Musk [1]"]])
    result = client.predict("Et que lui reproche d'abord le PDG, son manque de quoi ?", history,
                            api_name="/ask")
    assert result["standalone_question"].startswith("Qui poursuit OpenAI")
    assert any("manque de cohérence" in c["quote"] for c in result["citations"]), result["answer"]


@pytest.mark.llm
def test_dutch_question_local_model(corpus_data_dir, tmp_path):
    """With the local model: a Dutch answer, citing one of the two articles (Dutch, French)
    that report the exchange."""
    import shutil

    from vectorstore.language import detect_question_language

    data = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data)
    proc, url = start_app(data, tmp_path / "serve.log", KENBRON_LLM="local")
    try:
        client = Client(url, verbose=False)
        result = client.predict(DUTCH_QUESTION, "[]", api_name="/ask")
        assert result["error"] is None
        assert result["abstained"] is False, result["answer"]
        assert detect_question_language(result["answer"]) == "nl", result["answer"]
        assert result["citations"], result["answer"]
        assert all(c["chunk_id"] in result["context_chunk_ids"] for c in result["citations"])
        assert "Musk" in result["answer"]
        assert {c["source"] for c in result["citations"]} <= {"000_30c1c056688950f9.txt",
                                                              "001_be6fdfb56eccf482.txt"}
        abstain = client.predict("Wat kost een abonnement op Gemini Advanced per maand?", "[]",
                                 api_name="/ask")
        assert abstain["abstained"] is True
    finally:
        stop(proc)


SESSIONS = 20


def test_twenty_concurrent_sessions_each_get_their_own_answer(extractive_app):
    """20 clients at once, each with its own history: every one gets the answer to its own
    question, built on its own history; those beyond the app's concurrency wait in the queue."""
    from gradio_client.utils import Status

    questions = [json.loads(line)["question"] for line in
                 SAMPLE_QUESTIONS.read_text(encoding="utf-8").splitlines()][:SESSIONS]
    clients = [Client(extractive_app, verbose=False) for _ in range(SESSIONS)]
    jobs = []
    for i, (client, question) in enumerate(zip(clients, questions, strict=True)):
        history = json.dumps([[f"Sessie {i} vraagt", f"Antwoord voor sessie {i}"]])
        jobs.append(client.submit(question, history, api_name="/ask"))
    queued = set()
    while not all(job.done() for job in jobs):
        for i, job in enumerate(jobs):
            if job.status().code == Status.IN_QUEUE:
                queued.add(i)
        time.sleep(0.02)
    results = [job.result(timeout=120) for job in jobs]
    for i, (question, result) in enumerate(zip(questions, results, strict=True)):
        assert result["question"] == question
        assert result["standalone_question"].startswith(f"Sessie {i} vraagt "), result
        assert result["error"] is None
        assert result["abstained"] or result["citations"]
    assert queued, "no request ever waited in the queue"


def test_login_is_required_when_configured(corpus_data_dir, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data)
    proc, url = start_app(data, tmp_path / "serve.log", KENBRON_LLM="extractive",
                          KENBRON_USERNAME="redactie", KENBRON_PASSWORD="kanaal-7-peil")
    try:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain Exception
            Client(url, verbose=False).predict("Wat is Sora?", "[]", api_name="/ask")
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("redactie", "wrong"), verbose=False)
        client = Client(url, auth=("redactie", "kanaal-7-peil"), verbose=False)
        result = client.predict("Wat is Sora?", "[]", api_name="/ask")
        assert result["language"] == "nl"
    finally:
        stop(proc)

