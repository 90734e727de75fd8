"""Run a command so that it cannot outlive the process that started this guard.

    python -m assistant.models.worker_guard -- COMMAND [ARGS...]

The local model worker (about 3 GB) used to keep running with no parent when `kenbron serve` was
killed, a test run ended or a container stopped. A parent-death signal alone does not cover it:
Linux sends it when the *thread* that started the child ends, and Kenbron starts the worker from
whichever request thread asks first. So two guards:

- this process watches its own parent (polling, twice a second) and, when the parent is gone
  (SIGKILL included) or it is asked to stop (SIGTERM, SIGINT, SIGHUP), terminates the command,
  then kills it if it has not exited within a few seconds;
- the command gets SIGKILL from the kernel if this guard dies, however it dies (`PR_SET_PDEATHSIG`
  set in the guard's only thread, just before the command starts).

The guard exits the way the command did (the same code, or the same signal), so whoever started
it can still say how the worker died.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys

POLL_S = 0.5
GRACE_S = 5.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child between fork and exec: SIGKILL when the guard goes away."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _end(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    if not command:
        logging.error("usage: python -m assistant.models.worker_guard -- COMMAND [ARGS...]")
        return 2
    parent = os.getppid()
    stop = {"asked": False}

    def asked_to_stop(signum: int, _frame) -> None:
        stop["asked"] = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, asked_to_stop)
    child = subprocess.Popen(command, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    while child.poll() is None:
        if stop["asked"] or os.getppid() != parent:
            _end(child)
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=POLL_S)
    code = child.returncode
    if code < 0:  # leave the way the command left, so the starter sees "killed by SIGSEGV"
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # those two cannot be handled anyway
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
