"""Faults, crashes, hostile input and secrets: Kenbron keeps working and loses nothing.

Figures these tests establish are summarised in the README ("Reliability and security").
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import prompts
from assistant.grounding.citations import MARKER, parse_claims, strip_markers
from assistant.pipeline.chain import Assistant
from assistant.settings import Settings
from benchmarks.synthetic import make_collection
from tests.conftest import BIN, REPO, SAMPLE_QUESTIONS, free_port, stop, wait_for_http
from tests.openai_stub import StubServer
from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig
from vectorstore.index.store import StoreError

QUESTION = "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?"
KEY = "sk-kenbron-test-SECRET-0123456789"
TOKEN = "hf_kenbronSECRETtoken987"


# --- crash safety --------------------------------------------------------------------------------

KILLS = 5
BATCH = 16  # chunks per write batch in the killed ingests: many commit points to land between

# An ingest through the library API that reports each written batch on stdout, so the test kills
# it at a moment it chose (after some batches, sometimes mid-batch) instead of guessing how long
# start-up takes on this machine.
INGEST_REPORTING_BATCHES = f"""
import sys
from pathlib import Path
import vectorstore.index.ingest
from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig
vectorstore.index.ingest.WRITE_BATCH_CHUNKS = {BATCH}
kb = KnowledgeBase(StoreConfig(data_dir=Path(sys.argv[1]), embedding="use"))
kb.ingest([Path(sys.argv[2])], progress=lambda stage, done, total: stage == "chunks" and print(
    "batch", flush=True))
print("done", flush=True)
"""


def test_kill_9_during_ingest_repeatedly_then_complete(tmp_path, use_embeddings):
    """`kill -9` an ingest at random moments between its writes, five times; then `kenbron
    ingest` completes it. Afterwards the registry, the chunks, the sentence vectors and the BM25
    index agree exactly."""
    folder = tmp_path / "docs"
    total = make_collection(folder, 20 * BATCH, seed=5)
    data = tmp_path / "data"
    rng = random.Random(1)
    written, log = 0, tmp_path / "stderr.log"
    for _ in range(KILLS):
        with log.open("w") as err:
            proc = subprocess.Popen(
                [str(BIN / "python"), "-c", INGEST_REPORTING_BATCHES, str(data), str(folder)],
                cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
        batches = rng.randint(1, 2)
        for line in proc.stdout:
            assert line.strip() == "batch", "the ingest finished before it could be killed"
            batches -= 1
            if batches == 0:
                break
        assert batches == 0, log.read_text()
        time.sleep(rng.uniform(0, 0.8))  # between two batches or inside one
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        written += 1
    assert written == KILLS
    env = dict(os.environ, KENBRON_DATA_DIR=str(data), KENBRON_EMBEDDING="use")
    cmd = [str(BIN / "kenbron"), "ingest", str(folder)]
    done = subprocess.run(cmd + ["--json"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    files = sorted(p.name for p in folder.glob("*.txt"))
    assert sorted(report["added"] + report["skipped"]) == files

    kb = KnowledgeBase(StoreConfig(data_dir=data, embedding="use"), embeddings=use_embeddings)
    docs = kb.store.documents()
    assert sorted(docs) == files
    all_chunks = kb.store.chunks.get(include=["metadatas"])
    ids = all_chunks["ids"]
    assert len(ids) == len(set(ids)) == total
    # leftovers of killed runs were reused, so nothing is left over: every chunk is published
    assert len(ids) == sum(d.chunks for d in docs.values())
    for sid, doc in docs.items():
        assert len(kb.store.chunks_of(sid, doc.doc_hash)) == doc.chunks
    sentence_parents = {m["chunk_id"] for m in kb.store.sentences.get(include=["metadatas"])["metadatas"]}
    assert sentence_parents <= set(ids)
    kb.sync_lexical()
    index = kb._lexical_index()
    alive = [cid for cid, ok in zip(index.chunk_ids, index.alive, strict=True) if ok]
    assert sorted(alive) == sorted(ids)


def test_search_never_sees_a_half_ingested_document(make_kb, docs_dir, monkeypatch):
    """Questions asked while a document is being written only see it once it is published."""
    kb = make_kb()
    kb.ingest([docs_dir])
    monkeypatch.setattr("vectorstore.index.ingest.WRITE_BATCH_CHUNKS", 8)
    big = docs_dir.parent / "waterschap.txt"
    big.write_text("\n\n".join(
        f"Het waterschap Zwartewaal meet het peil van kanaal {i} elke ochtend opnieuw."
        for i in range(120)), encoding="utf-8")
    published = threading.Event()
    real_publish = kb.store.publish

    def publish(docs):
        published.set()
        return real_publish(docs)

    monkeypatch.setattr(kb.store, "publish", publish)
    real_write = kb.store.write_chunks

    def slow_write(*args, **kwargs):
        # each batch takes a while, as on a loaded machine or a remote server: the questions
        # below then always run while the document is half written
        time.sleep(0.3)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(kb.store, "write_chunks", slow_write)
    seen_early, searches = [], 0
    writer = threading.Thread(target=kb.ingest, args=([big],))
    writer.start()
    while writer.is_alive():
        hits = kb.search("waterschap Zwartewaal kanaal peil", k=5)
        searches += 1
        if not published.is_set():
            seen_early += [h for h in hits if h.chunk.source_id == "waterschap.txt"]
    writer.join()
    assert searches > 3 and seen_early == []
    hits = kb.search("waterschap Zwartewaal kanaal peil", k=5)
    assert hits[0].chunk.source_id == "waterschap.txt"


def test_symlinks_out_of_the_folder_and_hostile_names(make_kb, docs_dir, tmp_path):
    """A link leading outside the ingested folder is refused; odd file names stay plain names."""
    secret = tmp_path / "elsewhere" / "private.txt"
    secret.parent.mkdir()
    secret.write_text("Het wachtwoord van de kluis is 4711.", encoding="utf-8")
    (docs_dir / "link.txt").symlink_to(secret)
    hostile = docs_dir / "<img src=x onerror=alert(1)>.txt"
    hostile.write_text("De redactie vergadert elke maandag om negen uur.", encoding="utf-8")
    kb = make_kb()
    report = kb.ingest([docs_dir])
    assert [Path(p).name for p, _ in report.rejected] == ["link.txt"]
    assert "outside the ingested folder" in report.rejected[0][1]
    assert hostile.name in report.added
    assert not any("kluis" in h.chunk.text for h in kb.search("wachtwoord kluis", 5))


# --- the Chroma server goes away and comes back --------------------------------------------------

def _chroma(path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, ANONYMIZED_TELEMETRY="False"))
    wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", process=proc)
    return proc


def test_chroma_server_down_then_back(tmp_path, docs_dir, use_embeddings):
    port = free_port()
    server = _chroma(tmp_path / "db", port)
    try:
        settings = Settings.from_env(data_dir=tmp_path / "data", chroma_host="127.0.0.1",
                                     chroma_port=port, embedding="use", backend="extractive")
        kb = KnowledgeBase(StoreConfig(data_dir=settings.data_dir, chroma_host="127.0.0.1",
                                       chroma_port=port, embedding="use"), embeddings=use_embeddings)
        kb.ingest([docs_dir])
        assistant = Assistant(settings, knowledge_base=kb)
        assert assistant.ask(QUESTION).citations
        stop(server)
        with pytest.raises(StoreError, match=f"Chroma server at 127.0.0.1:{port}"):
            kb.search("ChatGPT", 3)
        down = assistant.ask(QUESTION)
        assert down.error and "Chroma server" in down.error
        assert "Chroma server" in down.text  # the user reads why, in the question's language
        server = _chroma(tmp_path / "db", port)
        back = assistant.ask(QUESTION)
        assert back.error is None and back.citations
    finally:
        stop(server)


# --- the LLM server fails ------------------------------------------------------------------------

@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def _compatible(stub: StubServer, data_dir: Path, **kw) -> Assistant:
    settings = Settings.from_env(backend="compatible", openai_base_url=stub.url,
                                 data_dir=str(data_dir), translate_queries="off", **kw)
    return Assistant(settings)


def test_llm_stream_cut_mid_answer_then_next_question_works(stub, corpus_data_dir):
    assistant = _compatible(stub, corpus_data_dir)
    stub.mode = "die_mid_stream"
    events = list(assistant.stream(QUESTION))
    kinds = [e.kind for e in events]
    assert kinds[0] == "sources" and kinds[-1] == "answer"
    cut = events[-1].data
    assert cut.error and "compatible" in cut.error and not cut.citations
    assert "timed out" not in cut.error  # detected at once, not after the client's timeout
    assert cut.text == prompts.message("fr", "error", reason=cut.error)
    stub.mode = "ok"
    answer = assistant.ask(QUESTION)
    assert answer.error is None and answer.citations, answer.text


def test_llm_timeout_is_a_clear_error(stub, corpus_data_dir):
    assistant = _compatible(stub, corpus_data_dir, llm_timeout_s=1.0)
    stub.mode = "slow"
    t0 = time.perf_counter()
    answer = assistant.ask(QUESTION)
    assert time.perf_counter() - t0 < 30  # one retry at most, never a hang
    assert answer.error and "timed out" in answer.error


# --- secrets ------------------------------------------------------------------------------------

def test_secrets_never_reach_users_logs_or_reports(stub, corpus_data_dir, tmp_path, caplog):
    stub.mode = "unauthorized"
    caplog.set_level(logging.DEBUG)
    settings = Settings.from_env(backend="compatible", openai_base_url=stub.url, hf_token=TOKEN,
                                 openai_api_key=KEY, data_dir=str(corpus_data_dir),
                                 translate_queries="off")
    assert KEY not in repr(settings) and TOKEN not in repr(settings)
    answer = Assistant(settings).ask(QUESTION)
    assert stub.echo_key == KEY  # the server did echo the key back in its error
    assert answer.error and "AuthenticationError" in answer.error
    shown = json.dumps(answer.to_dict(), ensure_ascii=False) + answer.text + caplog.text
    assert KEY not in shown and TOKEN not in shown

    # the CLI and the evaluation report, with the secrets in the environment
    questions = tmp_path / "q.jsonl"
    questions.write_text(SAMPLE_QUESTIONS.read_text(encoding="utf-8").splitlines()[0] + "\n",
                         encoding="utf-8")
    env = dict(os.environ, OPENAI_API_KEY=KEY, HF_TOKEN=TOKEN, OPENAI_BASE_URL=stub.url,
               KENBRON_LLM="compatible", KENBRON_DATA_DIR=str(corpus_data_dir),
               KENBRON_TRANSLATE_QUERIES="off")
    env.pop("KENBRON_EMBEDDING", None)
    out = tmp_path / "eval"
    runs = [subprocess.run([str(BIN / "kenbron"), *args], env=env, capture_output=True, text=True,
                           timeout=600)
            for args in (["ask", QUESTION], ["ask", QUESTION, "--json"],
                         ["eval", "--questions", str(questions), "--out", str(out)])]
    printed = "".join(r.stdout + r.stderr for r in runs)
    assert "AuthenticationError" in printed
    written = "".join(p.read_text(errors="replace") for p in out.iterdir() if p.suffix != ".png")
    assert "AuthenticationError" in written
    assert KEY not in printed + written and TOKEN not in printed + written


# --- property-based: the citation parser --------------------------------------------------------

marker_text = st.lists(st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\[\d{1,3}(, ?\d{1,3})*\]", fullmatch=True),
    st.sampled_from([". ", "! ", "? ", "\n", "[", "]", "[1", "1]", "[]", "[ 2 ]", "…"]),
), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(marker_text)
def test_citation_parser_never_crashes_and_keeps_every_word(text):
    claims = parse_claims(text)
    words = "".join(c.text for c in claims).split()
    assert "".join(words) == "".join(strip_markers(text).split())
    for claim in claims:
        assert all(isinstance(n, int) and n >= 0 for n in claim.markers)
        assert not MARKER.search(claim.text)



def test_a_search_that_read_the_generation_before_a_publish_does_not_hide_the_new_document(
        make_kb, docs_dir):
    """A search racing an upload: it read the registry generation just before the upload was
    published and reaches the registry and BM25 after it. Neither may keep the old state under
    the new generation or take the lexical index back to the old one."""
    kb = make_kb()
    kb.ingest([docs_dir])
    before = kb.store.generation()
    late = docs_dir.parent / "veer" / "veerpont.txt"
    late.parent.mkdir()
    late.write_text("De veerpont van Zwartewaal vaart elk halfuur naar Brielle.", encoding="utf-8")
    kb.ingest([late])
    # the racing search now catches up with its old generation
    kb.store.documents(before)
    kb.sync_lexical(before)
    assert "veerpont.txt" in {d.source_id for d in kb.documents()}
    hits = kb.search("Hoe vaak vaart de veerpont van Zwartewaal naar Brielle?", k=3)
    assert hits[0].chunk.source_id == "veerpont.txt"
    assert "bm25" in hits[0].ranks  # the lexical index kept it
