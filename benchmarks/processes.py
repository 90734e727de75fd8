"""Child processes the benchmarks start and measure: a free port, a `chroma run` server, a
process's peak memory, a function run in a fresh interpreter of its own."""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def in_child(fn, *args) -> dict:
    """`fn(conn, *args)` in a spawned process (its peak memory its own); what it sends back, or
    its error raised here."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=fn, args=(child, *args))
    proc.start()
    status, payload = parent.recv()
    proc.join()
    if status != "ok":
        raise RuntimeError(payload)
    return payload


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chroma(path: Path) -> tuple[subprocess.Popen, int]:
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env=dict(os.environ, ANONYMIZED_TELEMETRY="False"))
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc, port
        except Exception:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("chroma run did not start")


def peak_rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
