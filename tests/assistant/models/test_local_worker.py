"""The local model runs in a supervised worker process: its crashes cost one answer, never the app.

The app-level tests run the real model in a real `kenbron serve` and kill its real worker with
SIGKILL — mid-answer, and while it is still starting — then ask again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from gradio_client import Client

from assistant.models.errors import LLMError
from assistant.models.local_worker import SERVER_MODULE, LocalWorker
from assistant.provisioning.llama_build import candidate_builds
from tests.conftest import REPO, start_app, stop

ANSWERABLE = "Met wie had Sam Altman een verhitte woordenwisseling op sociale netwerken?"
ANSWERABLE_FR = "Selon Altman, de quoi Elon Musk se plaint-il parfois à propos de ChatGPT ?"


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return found


def worker_pids(ancestor: int) -> list[int]:
    """The model server processes started by process `ancestor` (through its guard)."""
    table = _processes()

    def descends(pid: int) -> bool:
        while pid > 1 and pid in table:
            pid = table[pid][0]
            if pid == ancestor:
                return True
        return False

    return [pid for pid, (_, cmd) in table.items()
            if cmd.startswith(b"/") and f" -m {SERVER_MODULE}".encode() in cmd
            and b"worker_guard" not in cmd and descends(pid)]


def test_worker_that_exits_at_start_is_a_clear_error_and_is_started_again(tmp_path):
    worker = LocalWorker([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path / "w.log",
                         start_timeout_s=30)
    for attempt in (1, 2):
        with pytest.raises(LLMError, match=r"crashed while starting \(exit status 3\)"):
            worker.url()
        assert worker.starts == attempt  # every question tries a fresh worker
    assert str(tmp_path / "w.log") in str(pytest.raises(LLMError, worker.url).value)


def test_worker_killed_by_a_signal_at_start_names_the_signal(tmp_path):
    worker = LocalWorker([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
                         tmp_path / "w.log", start_timeout_s=30)
    with pytest.raises(LLMError, match="SIGSEGV"):
        worker.url()


def test_worker_arguments_are_checked():
    with pytest.raises(ValueError, match="command"):
        LocalWorker([], Path("x.log"))
    with pytest.raises(ValueError, match="start_timeout_s"):
        LocalWorker(["true"], Path("x.log"), start_timeout_s=0)


AMX_CPU = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx_vnni", "avx512f", "avx512cd", "avx512vl",
           "avx512dq", "avx512bw", "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8",
           "amx_bf16"}


def test_builds_never_compile_amx_and_fall_back_from_avx512_to_baseline():
    builds = candidate_builds(AMX_CPU)
    assert [b.tier for b in builds] == ["avx512", "avx2", "baseline"]
    for build in builds:
        assert "-DGGML_NATIVE=OFF" in build.cmake_args
        assert all(f"-DGGML_AMX_{x}=OFF" in build.cmake_args for x in ("TILE", "INT8", "BF16"))
        assert "AMX" not in " ".join(build.options)
    assert "-DGGML_AVX512=ON" in builds[0].cmake_args
    assert "-DGGML_AVX512=OFF" in builds[1].cmake_args and "-DGGML_AVX2=ON" in builds[1].cmake_args
    assert "=ON" not in builds[2].cmake_args
    assert len({b.key for b in builds}) == 3  # each flag set has its own wheel folder


def test_builds_only_use_what_the_cpu_reports():
    avx2_cpu = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
    assert [b.tier for b in candidate_builds(avx2_cpu)] == ["avx2", "baseline"]
    # AVX-512F without BW/VL/DQ/CD is not enough for ggml's AVX-512 build
    assert [b.tier for b in candidate_builds(avx2_cpu | {"avx512f"})] == ["avx2", "baseline"]
    assert [b.tier for b in candidate_builds(set())] == ["baseline"]
    # the key is the flags, not the tier's name: another CPU's AVX-512 wheel is not this one's
    other = candidate_builds(AMX_CPU - {"avx512_bf16"})[0]
    assert other.tier == "avx512" and other.key != candidate_builds(AMX_CPU)[0].key


@pytest.fixture
def local_app(corpus_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data)
    proc, url = start_app(data, tmp_path / "serve.log", KENBRON_LLM="local")
    yield proc, url
    stop(proc)


def wait_for_worker(app_pid: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(app_pid)
        if pids:
            return pids[0]
        time.sleep(0.01)
    raise TimeoutError("no model worker appeared")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_busy(pid: int, since: float, work: float = 0.3, timeout: float = 60) -> None:
    """Until the process has worked `work` CPU seconds more than `since`: a fixed sleep missed
    the model on a loaded machine (retrieval took longer, the request had not reached it)."""
    deadline = time.monotonic() + timeout
    while cpu_seconds(pid) - since < work:
        if time.monotonic() > deadline:
            raise TimeoutError("the model worker never started on the question")
        time.sleep(0.02)


def wait_until_idle(pid: int, window: float = 1.0, work: float = 0.2, timeout: float = 60) -> None:
    """Until the process works less than `work` CPU seconds in `window` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < work:
            return
    raise TimeoutError(f"process {pid} kept working for {timeout} s")


@pytest.mark.llm
def test_worker_killed_mid_answer_costs_one_answer_not_the_app(local_app):
    proc, url = local_app
    client = Client(url, verbose=False)
    first = client.predict(ANSWERABLE, "[]", api_name="/ask")
    assert first["error"] is None and first["citations"], first
    worker = wait_for_worker(proc.pid)

    busy_from = cpu_seconds(worker)
    job = client.submit(ANSWERABLE_FR, "[]", api_name="/ask")
    wait_until_busy(worker, busy_from)  # the model is reading the prompt: kill it mid-answer
    os.kill(worker, signal.SIGKILL)
    killed = job.result(timeout=300)
    assert killed["error"] and "stopped while answering" in killed["error"], killed
    assert "SIGKILL" in killed["error"]
    assert proc.poll() is None  # the app is still up

    again = client.predict(ANSWERABLE, "[]", api_name="/ask")
    assert again["error"] is None and again["citations"], again
    assert worker_pids(proc.pid) and worker not in worker_pids(proc.pid)


@pytest.mark.llm
def test_a_v1_client_that_hangs_up_frees_the_model_at_once(local_app):
    """Kenbron's /v1 writes the whole answer before it replies: a client that gives up meanwhile
    (its timeout, a closed tab) must not leave the model working for nobody while the next user
    waits. Here the model is reading a long conversation when the client hangs up; left alone it
    would read on for many seconds, then write the rest of the answer."""
    proc, url = local_app
    api = openai.OpenAI(base_url=url + "/v1", api_key="none")

    def answered() -> bool:
        reply = api.chat.completions.create(model="kenbron",
                                            messages=[{"role": "user", "content": ANSWERABLE}])
        return bool(reply.model_extra["kenbron"]["citations"])

    assert answered()  # and the warm-up is over: what the model does next is this test's
    worker = wait_for_worker(proc.pid)
    wait_until_idle(worker)
    turn = " ".join(f"In {1900 + i} kreeg de haven van Vlaardam een nieuwe sluis, de {i}e van "
                    "het kanaal, en de schepen voeren sindsdien sneller naar de zee." for i in range(14))
    messages = []
    for _ in range(3):  # the condense prompt reads the last three exchanges
        messages += [{"role": "user", "content": turn}, {"role": "assistant", "content": turn}]
    messages.append({"role": "user", "content": "En wanneer kwam de laatste sluis?"})
    body = json.dumps({"model": "kenbron", "messages": messages}).encode()
    host, port = url.removeprefix("http://").split(":")
    busy_from = cpu_seconds(worker)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        wait_until_busy(worker, busy_from, work=1.0)  # the model is reading the conversation
    wait_until_idle(worker, timeout=8)  # left alone, it reads on for 10-30 s, then answers
    assert answered()  # the next user is answered


@pytest.mark.llm
def test_worker_crashing_at_start_costs_no_answer_and_not_the_app(local_app, tmp_path):
    """The app starts the model at start-up (its warm-up): a worker that crashes then is
    reported in the log, and the first question starts a new one and is answered."""
    proc, url = local_app
    os.kill(wait_for_worker(proc.pid), signal.SIGKILL)  # long before the model is loaded
    answer = Client(url, verbose=False).predict(ANSWERABLE, "[]", api_name="/ask")
    assert answer["error"] is None and answer["citations"], answer
    assert proc.poll() is None
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "warm-up failed" in log and "crashed while starting" in log and "SIGKILL" in log


@pytest.mark.llm
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_no_model_worker_outlives_kenbron_serve(corpus_data_dir, tmp_path, how):
    """`kenbron serve` stopped (within seconds, with a question in flight) or killed outright:
    its model worker and the worker's guard end too."""
    data = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data)
    proc, url = start_app(data, tmp_path / "serve.log", KENBRON_LLM="local")
    try:
        Client(url, verbose=False).submit(ANSWERABLE, "[]", api_name="/ask")
        worker = wait_for_worker(proc.pid)
        guard = _processes()[worker][0]
        started = time.monotonic()
        proc.send_signal(how)
        proc.wait(timeout=15)
        if how == signal.SIGTERM:
            assert time.monotonic() - started < 10
        deadline = time.monotonic() + 10
        while {worker, guard} & set(_processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not {worker, guard} & set(_processes()), "the model worker outlived the app"
    finally:
        stop(proc)


def test_the_guard_ends_its_command_when_its_parent_is_killed(tmp_path):
    """The guard alone, under a parent that is SIGKILLed: the guarded command ends within a
    second or so (the guard watches its parent), and a command that dies by a signal (SIGKILL
    included) makes the guard report that same signal."""
    pid_file = tmp_path / "child.pid"
    (tmp_path / "child.py").write_text(
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n")
    (tmp_path / "parent.py").write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-m', 'assistant.models.worker_guard', '--', sys.executable, "
        f"{str(tmp_path / 'child.py')!r}])\ntime.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")], cwd=REPO)
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()

    for how in (signal.SIGSEGV, signal.SIGKILL):
        guard = subprocess.run([sys.executable, "-m", "assistant.models.worker_guard", "--",
                                sys.executable, "-c", f"import os; os.kill(os.getpid(), {int(how)})"],
                               cwd=REPO, timeout=60)
        assert guard.returncode == -how
