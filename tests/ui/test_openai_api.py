"""`kenbron serve`'s OpenAI-compatible endpoint, driven by the real `openai` client."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import urllib.request

import openai
import pypdfium2 as pdfium
import pytest

from tests.conftest import BIN, REALDOCS, start_app, stop

KEY = "kb-test-key-5f1e"
FR_ABOUT_FR = "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?"
NL_ABOUT_FR = "Wat verweet Altman Musk over diens kritiek op ChatGPT?"


@pytest.fixture(scope="module")
def api(corpus_data_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("api-data")
    shutil.copytree(corpus_data_dir, data, dirs_exist_ok=True)
    proc, url = start_app(data, data / "serve.log", KENBRON_LLM="extractive", KENBRON_API_KEY=KEY)
    yield url
    stop(proc)


def client(url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=120)


def test_cross_lingual_question_gets_a_verified_citation(api):
    reply = client(api).chat.completions.create(
        model="kenbron", messages=[{"role": "user", "content": NL_ABOUT_FR}])
    kenbron = reply.model_extra["kenbron"]
    text = reply.choices[0].message.content
    assert not kenbron["abstained"] and kenbron["error"] is None
    assert kenbron["language"] == "nl"
    assert "confidence" in kenbron and kenbron["confidence"] is None  # no model: no confidence
    cited = kenbron["citations"]
    french = [c for c in cited if c["source"] == "001_be6fdfb56eccf482.txt"]  # the French source
    assert french and french[0]["quote"] and f"[{french[0]['n']}]" in text


def test_unanswerable_question_abstains(api):
    reply = client(api).chat.completions.create(
        model="kenbron", messages=[{"role": "user", "content": "Wie is de CEO van Mistral?"}])
    assert reply.model_extra["kenbron"]["abstained"] is True
    assert reply.model_extra["kenbron"]["citations"] == []
    assert "niet in de documenten" in reply.choices[0].message.content


def test_streaming_ends_with_the_citations(api):
    stream = client(api).chat.completions.create(
        model="kenbron", stream=True, messages=[{"role": "user", "content": FR_ABOUT_FR}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    kenbron = final.model_extra["kenbron"]
    assert kenbron["citations"] and all(f"[{c['n']}]" in text for c in kenbron["citations"])
    assert len(chunks) > 3  # word by word, not one block


def test_conversation_is_the_history(api):
    messages = [{"role": "system", "content": "ignored"},
                {"role": "user",
                 "content": "Qui poursuit OpenAI en justice ?"},
                {"role": "assistant", "content": "Elon Musk [1]"},
                {"role": "user",
                 "content": [{"type": "text",
                              "text": "Et que lui reproche d'abord le PDG, son manque de quoi ?"}]}]
    reply = client(api).chat.completions.create(model="kenbron", messages=messages)
    assert any("manque de cohérence" in c["quote"] for c in reply.model_extra["kenbron"]["citations"])


def test_models_lists_kenbron(api):
    assert [m.id for m in client(api).models.list()] == ["kenbron"]


def test_wrong_or_missing_key_is_401(api):
    with pytest.raises(openai.AuthenticationError):
        client(api, "wrong").chat.completions.create(
            model="kenbron", messages=[{"role": "user", "content": FR_ABOUT_FR}])
    with pytest.raises(openai.AuthenticationError):
        client(api, "wrong").models.list()


@pytest.mark.parametrize(("body", "message"), [
    ({"model": "kenbron"}, "'messages' must be a non-empty list"),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, "the last message must come from the user"),
    ({"messages": [{"role": "user", "content": "   "}]}, "the question is empty"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "role system, user or assistant"),
])
def test_malformed_body_is_400_with_a_clear_message(api, body, message):
    with pytest.raises(openai.BadRequestError, match=message):
        client(api).post("/chat/completions", body=body, cast_to=object)


def test_body_that_is_not_json_is_400(api):
    request = urllib.request.Request(api + "/v1/chat/completions", data=b"{not json", method="POST",
                                     headers={"Authorization": f"Bearer {KEY}",
                                              "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request, timeout=30)
    assert failed.value.code == 400
    assert "not valid JSON" in json.loads(failed.value.read())["error"]["message"]


def test_request_log_leaves_the_question_out_unless_asked(caplog, tmp_path):
    import logging

    from assistant.answer import Answer
    from assistant.settings import Settings
    from ui.request_log import log_answer

    answer = Answer(question="Wie is mijn huisarts, Dr. Jansen?", text="…", language="nl",
                    backend="extractive")
    with caplog.at_level(logging.INFO, logger="kenbron.requests"):
        log_answer("/ask", answer, Settings.from_env(data_dir=str(tmp_path)))
        assert "/ask: language=nl backend=extractive" in caplog.text
        assert "Jansen" not in caplog.text
        log_answer("/ask", answer, Settings.from_env(data_dir=str(tmp_path), log_questions=True))
        assert "Jansen" in caplog.text


@pytest.fixture(scope="module")
def pdf_api(corpus_data_dir, tmp_path_factory):
    """The app over the bundled corpus plus three real pages of a LaTeX book, as a PDF whose
    outline is gone (headings then come from the print), ingested through the command line."""
    data = tmp_path_factory.mktemp("pdf-api-data")
    shutil.copytree(corpus_data_dir, data, dirs_exist_ok=True)
    book = pdfium.PdfDocument(REALDOCS / "corpus" / "pdf" / "lshort-nl.pdf")
    excerpt = pdfium.PdfDocument.new()
    excerpt.import_pages(book, [35, 36])  # section 2.4, special characters
    pdf = tmp_path_factory.mktemp("pdf") / "tekens.pdf"
    buffer = io.BytesIO()
    excerpt.save(buffer)
    pdf.write_bytes(buffer.getvalue())
    env = dict(os.environ, KENBRON_DATA_DIR=str(data))
    env.pop("KENBRON_EMBEDDING", None)
    subprocess.run([str(BIN / "kenbron"), "ingest", str(pdf)], env=env, check=True, timeout=600,
                   capture_output=True)
    proc, url = start_app(data, data / "serve.log", KENBRON_LLM="extractive", KENBRON_API_KEY=KEY)
    yield url
    stop(proc)


def test_pdf_citation_names_its_page_and_section(pdf_api):
    reply = client(pdf_api).chat.completions.create(model="kenbron", messages=[
        {"role": "user", "content": "Hoe noemt men in LaTeX het langste liggende streepje?"}])
    kenbron = reply.model_extra["kenbron"]
    assert not kenbron["abstained"], reply.choices[0].message.content
    cited = [c for c in kenbron["citations"] if c["source"] == "tekens.pdf"]
    # the passage on dashes (the excerpt's first page), whichever of its sentences is quoted
    first = next(c for c in cited if "streepje" in c["quote"])
    assert first["page"] == "1" and first["section"] == "2.4 Speciale karakters en symbolen"
    assert first["location"] == "tekens.pdf, p. 1, §2.4 Speciale karakters en symbolen"
