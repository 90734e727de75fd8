"""Shared fixtures: real embeddings, a real embedded Chroma, a real `chroma run` server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.models.local_worker import SERVER_MODULE  # noqa: E402
from assistant.settings import VARIABLES  # noqa: E402

# The developer's configuration does not reach the tests or the processes they start (a shell's
# KENBRON_K or OPENAI_API_KEY would change what is tested): every test starts from the defaults.
for _variable in VARIABLES.values():
    os.environ.pop(_variable, None)

from benchmarks.processes import free_port  # noqa: E402
from vectorstore.index.embeddings import make_embeddings  # noqa: E402
from vectorstore.index.ingest import ChunkingConfig  # noqa: E402
from vectorstore.index.knowledge_base import KnowledgeBase, StoreConfig  # noqa: E402
from vectorstore.index.store import open_client  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus"
REALDOCS = REPO / "eval" / "realdocs"
# questions of the tests' own about the bundled corpus (not the dev set's: tests must not depend
# on which dev questions exist or what they ask)
SAMPLE_QUESTIONS = REPO / "tests" / "questions.sample.jsonl"
BIN = Path(sys.executable).parent
_BEFORE = pytest.StashKey[set[int]]()


def wait_for_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


# What makes a test slow: a model, a browser, a server process, or the bundled corpus ingested
# with the default embeddings (about 45 s once per session).
_SLOW_FIXTURES = {"corpus_data_dir", "extractive_app", "chroma_server", "local_app", "api",
                  "llama_server", "browser"}
_SLOW_MARKERS = {"llm", "browser", "server"}


def _model_processes() -> set[int]:
    """Model workers and their guards on this machine (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and SERVER_MODULE.encode() in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = _model_processes()


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a model worker it started is still running once it is over: no process
    outlives what started it (issue: orphaned 3 GB workers after test runs)."""
    from assistant.models.llm import stop_local_workers

    stop_local_workers()
    before = session.config.stash.get(_BEFORE, set())
    deadline = time.monotonic() + 15
    while (left := _model_processes() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(f"model worker processes left running by the tests: {sorted(left)}",
                                red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items):
    """Mark slow tests so that `pytest -m "not slow"` is the fast tier (under a minute)."""
    for item in items:
        params = getattr(item, "callspec", None)
        on_server = params is not None and params.params.get("make_kb") == "server"
        if (_SLOW_FIXTURES & set(item.fixturenames) or _SLOW_MARKERS & {m.name for m in item.iter_markers()}
                or on_server):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def use_embeddings():
    """The fast packaged multilingual model; most store tests do not need the default pair."""
    return make_embeddings("use")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server on 127.0.0.1, as `chroma run` starts it."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = open(path / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    proc = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(path / "db"), "--host", "127.0.0.1",
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", process=proc)
        yield {"host": "127.0.0.1", "port": port, "process": proc, "path": path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(params=["embedded", "server"])
def make_kb(request, tmp_path, use_embeddings):
    """Factory for knowledge bases on embedded Chroma and on the Chroma server."""
    counter = iter(range(1000))

    def factory(collection: str | None = None, embeddings=None, data_dir: Path | None = None,
                **config) -> KnowledgeBase:
        embeddings = embeddings or use_embeddings
        data_dir = data_dir or tmp_path / "data"
        if request.param == "server":
            server = request.getfixturevalue("chroma_server")
            host, port = server["host"], server["port"]
            collection = collection or f"t{request.node.name[-40:]}{next(counter)}".translate(
                str.maketrans("[]-", "___"))
        else:
            host, port = None, 8000
            collection = collection or "kenbron"
        cfg = StoreConfig(data_dir=data_dir, collection=collection, chroma_host=host,
                          chroma_port=port, embedding=embeddings.name,
                          chunking=config.pop("chunking", ChunkingConfig(120, 20)), **config)
        client = open_client(data_dir, host, port)
        return KnowledgeBase(cfg, embeddings=embeddings, client=client)

    factory.mode = request.param
    return factory


@pytest.fixture
def docs_dir(tmp_path) -> Path:
    """A small folder with a copy of two bundled documents."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("001_be6fdfb56eccf482.txt", "003_aa336149584e727f.txt"):
        shutil.copy(CORPUS / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def corpus_data_dir(tmp_path_factory) -> Path:
    """The bundled corpus ingested once with the default embeddings (copy it before writing)."""
    data = tmp_path_factory.mktemp("corpus-kb")
    env = dict(os.environ, KENBRON_DATA_DIR=str(data))
    env.pop("KENBRON_EMBEDDING", None)
    subprocess.run([str(BIN / "kenbron"), "ingest", str(CORPUS)], env=env, check=True,
                   capture_output=True, timeout=900)
    return data


def start_app(data_dir: Path, log_path: Path, **env_extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, KENBRON_DATA_DIR=str(data_dir), GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_SERVER_PORT=str(port), **env_extra)
    env.pop("KENBRON_EMBEDDING", None)
    log = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen([str(BIN / "kenbron"), "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/", timeout=180, process=proc)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def extractive_app(corpus_data_dir, tmp_path_factory):
    """A running `kenbron serve` on a copy of the corpus store, extractive backend."""
    data = tmp_path_factory.mktemp("app-data")
    shutil.copytree(corpus_data_dir, data, dirs_exist_ok=True)
    proc, url = start_app(data, data / "serve.log", KENBRON_LLM="extractive", KENBRON_UPLOADS="open")
    yield url
    stop(proc)
