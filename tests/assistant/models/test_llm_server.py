"""End to end through the real model server with the local model, via the openai client path."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import httpx
import pytest

from assistant.models.errors import LLMError
from assistant.models.llm import make_chat_model
from assistant.models.local_worker import ABORT_PATH, REQUEST_HEADER, server_command
from assistant.models.stopping import StopSignal
from assistant.models.writers import ChatWriter
from assistant.pipeline.chain import Assistant
from assistant.pipeline.reading import foreign_sentences
from assistant.settings import Settings
from tests.assistant.models.test_local_worker import (
    cpu_seconds,
    wait_until_busy,
    wait_until_idle,
    worker_pids,
)
from tests.conftest import free_port, stop, wait_for_http
from vectorstore.language import detect_question_language

pytestmark = pytest.mark.llm

# answered in the French article
FRENCH_QUESTION = "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?"


@pytest.fixture(scope="module")
def llama_process(tmp_path_factory):
    """The model server process as the local worker runs it; its `url` attribute is the API."""
    settings = Settings.from_env()
    if not settings.model_path.is_file():
        pytest.fail(f"local model missing at {settings.model_path}; run scripts/setup")
    port = free_port()
    log = open(tmp_path_factory.mktemp("llama") / "server.log", "wb")  # noqa: SIM115
    command = server_command(settings.model_path, settings.llm_threads, settings.context_tokens)
    proc = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_for_http(f"http://127.0.0.1:{port}/v1/models", timeout=180, process=proc)
    proc.url = f"http://127.0.0.1:{port}/v1"
    yield proc
    stop(proc)
    log.close()


@pytest.fixture(scope="module")
def llama_server(llama_process) -> str:
    return llama_process.url


LONG_PROMPT = " ".join(f"Pier {i} of the harbour of Vlaardam opened in {1700 + i}." for i in range(150))


def _stream_long_prompt(url: str, headers: dict[str, str] | None = None):
    """A streamed request with a prompt the model reads for seconds (the caller closes it)."""
    client = httpx.Client(timeout=120)
    body = {"messages": [{"role": "user", "content": LONG_PROMPT + " Which pier opened first?"}],
            "stream": True, "max_tokens": 20}
    return client, client.stream("POST", f"{url}/chat/completions", json=body, headers=headers)


def _ask_yes(url: str) -> str:
    reply = httpx.post(f"{url}/chat/completions", timeout=300, json={
        "messages": [{"role": "user", "content": "Reply with the single word: yes"}], "max_tokens": 5})
    return reply.json()["choices"][0]["message"]["content"].lower()


def test_a_request_whose_client_left_stops_mid_prompt_and_the_next_one_is_right(llama_process):
    """A stream closed while the model still reads a long prompt ends the model's work at once
    (llama_cpp.server alone went on reading it: 134 s on a 2-core AMD EPYC), and the prompt cache
    left by the aborted read does not spoil the next answer."""
    wait_until_idle(llama_process.pid)
    busy_from = cpu_seconds(llama_process.pid)
    client, stream = _stream_long_prompt(llama_process.url)
    with client, stream:
        wait_until_busy(llama_process.pid, busy_from, work=1.0)
    wait_until_idle(llama_process.pid, timeout=10)
    assert "yes" in _ask_yes(llama_process.url)


def test_an_abort_ends_the_named_request_and_the_queued_one_is_answered(llama_process):
    """Kenbron's Stop names its request: that one ends mid-prompt, while another user's request,
    queued behind it, is answered in full."""
    wait_until_idle(llama_process.pid)
    busy_from = cpu_seconds(llama_process.pid)
    client, stream = _stream_long_prompt(llama_process.url, {REQUEST_HEADER: "first-user"})
    other: list[str] = []
    with client, stream as response:
        wait_until_busy(llama_process.pid, busy_from, work=1.0)
        queued = threading.Thread(target=lambda: other.append(_ask_yes(llama_process.url)))
        queued.start()
        base = llama_process.url.removesuffix("/v1")
        assert client.post(base + ABORT_PATH + "first-user").status_code == 204
        streamed = "".join(response.iter_text())  # the stream ends, it does not hang
        queued.join(timeout=120)
    assert "[DONE]" not in streamed  # ended by the abort, not by the model
    assert other and "yes" in other[0]


def test_stop_signal_aborts_the_local_models_request_mid_prompt(tmp_path):
    """A Stop from another thread ends `LocalChat`'s stream at once (not after the prompt is
    read) with a clear error, and the worker is free and right for the next question."""
    chat = make_chat_model(Settings.from_env(data_dir=str(tmp_path)))
    try:
        assert chat.invoke("Reply with the single word: yes").content  # the worker is up
        pid = worker_pids(chat.worker._process.pid)[0]  # the model process under its guard
        signal = StopSignal()
        busy_from = cpu_seconds(pid)

        def stop_once_busy() -> None:
            wait_until_busy(pid, busy_from, work=1.0)
            signal.stop()

        threading.Thread(target=stop_once_busy).start()
        with signal.current(), pytest.raises(LLMError, match="stopped"):
            "".join(str(c.content) for c in chat.stream(LONG_PROMPT + " Which pier opened first?"))
        stopped_at = time.monotonic()
        wait_until_idle(pid, timeout=10)
        assert time.monotonic() - stopped_at < 10
        assert "yes" in str(chat.invoke("Reply with the single word: yes").content).lower()
    finally:
        chat.worker.stop()


def test_compatible_backend_answers_with_citations(llama_server, corpus_data_dir):
    settings = Settings.from_env(backend="compatible", openai_base_url=llama_server,
                                 data_dir=str(corpus_data_dir), translate_queries="off")
    answer = Assistant(settings).ask(FRENCH_QUESTION)
    assert answer.error is None
    assert not answer.abstained, answer.text
    assert any(c.source_id == "001_be6fdfb56eccf482.txt" for c in answer.citations)
    assert any(word in answer.text.lower() for word in ("restrict", "laxis", "cohéren"))
    assert detect_question_language(answer.text) == "fr"


def test_the_model_translates_an_answer_keeping_markers_names_and_numbers(llama_server):
    settings = Settings.from_env(backend="compatible", openai_base_url=llama_server)
    backend = ChatWriter(make_chat_model(settings), excerpts=lambda question, hits: [])
    dutch = "De havenmeester van Lindholm vindt het plan van 4 miljoen euro weggegooid geld [2]."
    assert foreign_sentences(dutch, "en")
    english = backend.translate_answer(dutch, "English")
    assert "[2]" in english and "Lindholm" in english and "4" in english
    assert foreign_sentences(english, "en") == [], english


def test_unreachable_server_is_a_clear_error(corpus_data_dir):
    port = free_port()
    settings = Settings.from_env(backend="compatible", openai_base_url=f"http://127.0.0.1:{port}/v1",
                                 data_dir=str(corpus_data_dir), llm_timeout_s=5.0,
                                 openai_api_key="sk-test-secret", translate_queries="off")
    answer = Assistant(settings).ask(FRENCH_QUESTION)
    assert answer.error and "unreachable" in answer.error
    assert "sk-test-secret" not in answer.error + answer.text
    assert os.environ.get("OPENAI_API_KEY", "x") not in answer.text


def test_eval_with_llm_judge(llama_server, corpus_data_dir, tmp_path):
    """`kenbron eval --judge URL` with the local model as judge: a separate judge section."""
    import json

    from tests.conftest import BIN, SAMPLE_QUESTIONS

    questions = tmp_path / "q.jsonl"
    questions.write_text(SAMPLE_QUESTIONS.read_text(encoding="utf-8").splitlines()[1] + "\n",
                         encoding="utf-8")
    env = dict(os.environ, KENBRON_DATA_DIR=str(corpus_data_dir))
    env.pop("KENBRON_EMBEDDING", None)
    out = tmp_path / "eval"
    run = subprocess.run([str(BIN / "kenbron"), "eval", "--questions", str(questions), "--backend",
                          "extractive", "--judge", llama_server, "--out", str(out)],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    judge = report["judge"]
    assert judge["overall"]["judged"] == 1
    faithfulness = judge["overall"]["faithfulness"]
    record = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert faithfulness is not None and record["judge"]["faithfulness"] == faithfulness
    assert judge["overall"]["answer_relevance"] == record["judge"]["answer_relevance"]
    assert "faithfulness" not in report["overall"]  # kept apart from the deterministic metrics
    assert "LLM judge" in (out / "report.md").read_text()


def test_the_answer_length_limit_reaches_the_server(llama_server):
    """A llama.cpp server stops at the configured number of answer tokens (it ignores the
    `max_completion_tokens` langchain-openai sends; without `max_tokens` it wrote on until its
    context was full)."""
    settings = Settings.from_env(backend="compatible", openai_base_url=llama_server,
                                 max_answer_tokens=12)
    reply = make_chat_model(settings).invoke(
        "Write a long story, at least five hundred words, about a harbour master.")
    assert 0 < reply.usage_metadata["output_tokens"] <= 12, reply.usage_metadata
