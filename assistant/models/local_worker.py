"""The local model in a process of its own, which Kenbron starts, watches and replaces.

Invariant: nothing the model does — a segmentation fault in llama.cpp, a hang, running out of
memory — can take down the process that asked. The model runs in llama-cpp-python's server
(`assistant.models.model_server`, which adds a Stop that ends a prompt mid-read) on a free
loopback port, reached through the same OpenAI-compatible client as the `compatible` backend.
A worker that has died is noticed at the next question and replaced by a fresh one; one that
hangs past the timeout is killed. Every failure becomes an `LLMError` whose message says what
happened and where the worker's log is.

One worker per process, shared by every thread: the server answers one request at a time and
queues the rest (``interrupt_requests`` off, so a second user never cuts off the first).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from assistant.models.errors import LLMError, is_timeout

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0
GUARD_EXIT_S = 2.0  # how long a failed request waits to learn whether the worker died


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


SERVER_MODULE = "assistant.models.model_server"
REQUEST_HEADER = "X-Kenbron-Request"  # names a request so that it can be aborted (`LocalWorker.abort`)
ABORT_PATH = "/kenbron/abort/"  # POST ABORT_PATH + request name


def server_command(model_path: Path, threads: int, context_tokens: int) -> list[str]:
    """The model server as Kenbron runs it: greedy-friendly seed, queued requests, perf logs."""
    return [sys.executable, "-m", SERVER_MODULE, "--model", str(model_path),
            "--n_ctx", str(context_tokens), "--n_threads", str(threads),
            "--n_threads_batch", str(threads), "--n_batch", "512", "--seed", "0",
            "--interrupt_requests", "False", "--verbose", "True"]


class LocalWorker:
    """Starts the model server on demand and replaces it when it has died.

    `command` is the server's argv without host and port (they are chosen here); tests pass a
    command that crashes to check the supervision.
    """

    def __init__(self, command: Sequence[str], log_path: Path, start_timeout_s: float = START_TIMEOUT_S):
        if not command:
            raise ValueError("command must not be empty")
        if start_timeout_s <= 0:
            raise ValueError("start_timeout_s must be greater than 0")
        self.command = list(command)
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen | None = None
        self._url: str | None = None
        self._lock = threading.Lock()
        self.starts = 0
        atexit.register(self.stop)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.poll() is None else None

    def url(self) -> str:
        """The base URL of a live worker, starting one first if there is none."""
        with self._lock:
            if self._process is not None and self._process.poll() is None and self._url:
                return self._url
            if self._process is not None:
                log.warning("local model worker %s; starting a new one",
                            _exit_text(self._process.returncode))
            return self._start()

    def _start(self) -> str:
        port = _free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting worker\n".encode())
            out.flush()
            # the guard ends the worker when this process ends, however it ends
            self._process = subprocess.Popen(
                [sys.executable, "-m", "assistant.models.worker_guard", "--", *self.command,
                 "--host", "127.0.0.1", "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.starts += 1
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise LLMError(f"the local model worker crashed while starting ({_exit_text(code)}); "
                               f"its log is {self.log_path}; `kenbron doctor` checks this machine")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    self._url = url
                    log.info("local model worker %s ready at %s", self._process.pid, url)
                    return url
            except OSError:
                time.sleep(0.2)
        self._kill()
        raise LLMError(f"the local model worker did not start within {self.start_timeout_s:g} s; "
                       f"its log is {self.log_path}")

    def failure(self, exc: BaseException) -> LLMError:
        """Explain a failed request, and make sure the next question gets a working worker.

        A dead worker is reported with how it died; a request that timed out leaves a worker
        that may be stuck, so it is killed rather than trusted.
        """
        process = self._process
        timed_out = is_timeout(exc)
        code = process.poll() if process else None
        if code is None and process is not None and not timed_out:
            # a dead worker's connections close as it dies; its guard follows a moment later
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = process.wait(timeout=GUARD_EXIT_S)
        if code is not None:
            return LLMError(f"the local model stopped while answering ({_exit_text(code)}); "
                            "the next question starts it again")
        if timed_out:
            self._kill()
            return LLMError("the local model did not answer in time and was restarted; "
                            "try again, or ask a shorter question")
        return LLMError(f"the local model failed ({type(exc).__name__}: {str(exc)[:200]})")

    def abort(self, request: str) -> None:
        """Ask the worker to end the request sent with `REQUEST_HEADER: request` at once, even
        mid-prompt (a user's Stop); other requests, queued or running, go on."""
        url = self._url
        if url is None:
            return
        base = url.removesuffix("/v1")
        call = urllib.request.Request(base + ABORT_PATH + request, method="POST")
        with urllib.request.urlopen(call, timeout=5):
            pass

    def _kill(self) -> None:
        process, self._process, self._url = self._process, None, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the worker (politely, then not): called at exit and by tests."""
        with self._lock:
            process, self._process, self._url = self._process, None, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
