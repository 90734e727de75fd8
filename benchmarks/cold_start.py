"""The first question after `kenbron serve` starts, against the questions after it.

    .venv/bin/python -m benchmarks.cold_start [--data-dir DIR] [--runs 3] [--out DIR]

Each run starts `kenbron serve` twice on a copy of an ingested store (default:
`KENBRON_DATA_DIR`, where set-up ingested the bundled corpus) and asks four questions through
`/ask`: once the first the moment the page answers (the worst case: a visitor who was waiting
for it), once the first when the app says it is ready (its start-up warm-up has loaded the
model and read the prompt prefix; the chat shows a loading line until then). What is compared
is the pipeline's own time to the first answer token (`timings.first_token_ms`), which includes
any wait for the model. Target: first / later (medians) ≤ 1.5. The questions are the app's
examples, none from an evaluation set. Also (alone with `--page-only`): the time from
`kenbron serve` to a served page on a copy of the store and on an empty data folder, where the
bundled corpus is then read in the background — target: at most 3 s more on the empty one.
Writes DIR/cold_start.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.settings import Settings  # noqa: E402
from benchmarks.processes import free_port  # noqa: E402
from benchmarks.report import machine, save  # noqa: E402
from ui.chat import EXAMPLES  # noqa: E402

TARGET_RATIO = 1.5
TARGET_EMPTY_EXTRA_S = 3.0  # a page served on an empty data folder, against a populated one


def _wait_for(url: str, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kenbron serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def _wait_for_ready(log_path: Path, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while "warmed up in" not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the app never reported its warm-up done")
        time.sleep(0.2)


@contextlib.contextmanager
def _serving(store: Path | None, prefix: str) -> Iterator[tuple[str, subprocess.Popen, Path, float]]:
    """`kenbron serve` on a copy of `store` (an empty data folder for None), its output in a log
    beside the data: yields its URL, its process, the log and when it was started; stopped on
    exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        data = Path(tmp) / "data"
        if store is not None:
            shutil.copytree(store, data, ignore=shutil.ignore_patterns("logs", "eval", "*.jsonl"))
        port = free_port()
        env = dict(os.environ, KENBRON_DATA_DIR=str(data), GRADIO_SERVER_NAME="127.0.0.1",
                   GRADIO_SERVER_PORT=str(port))
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "kenbron"), "serve"], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            try:
                yield f"http://127.0.0.1:{port}/", proc, log_path, t0
            finally:
                proc.terminate()
                proc.wait(timeout=30)


def page_served_s(store: Path | None) -> float:
    """Seconds from `kenbron serve` to its page answering, on a copy of `store` (an empty data
    folder for None)."""
    with _serving(store, "kenbron-page-") as (url, proc, _, t0):
        _wait_for(url, proc)
        return round(time.perf_counter() - t0, 2)


def one_run(store: Path, first: int, when_ready: bool) -> dict:
    """Start the app on a copy of `store`, ask EXAMPLES[first] at once (or once the app is
    ready), then the others."""
    from gradio_client import Client

    with _serving(store, "kenbron-cold-") as (url, proc, log_path, t0):
        _wait_for(url, proc)
        up_s = time.perf_counter() - t0
        if when_ready:
            _wait_for_ready(log_path, proc)
        ready_s = time.perf_counter() - t0
        client = Client(url, verbose=False)
        order = [EXAMPLES[(first + i) % len(EXAMPLES)] for i in range(len(EXAMPLES) + 1)]
        times = []
        for question in order:
            answer = client.predict(question, "[]", api_name="/ask")
            times.append(answer["timings"].get("first_token_ms"))
    return {"when_ready": when_ready, "up_s": round(up_s, 1), "asked_s": round(ready_s, 1),
            "first_ms": times[0], "later_ms": times[1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--page-only", action="store_true",
                        help="only the time to a served page, populated and empty")
    args = parser.parse_args()
    settings = Settings.from_env()
    store = args.data_dir or settings.data_dir
    served = {kind: [page_served_s(source) for _ in range(args.runs)]
              for kind, source in (("populated", store), ("empty", None))}
    page = {kind: median(times) for kind, times in served.items()}
    page_line = (f"Page served after `kenbron serve`: {page['populated']:.1f} s on the store, "
                 f"{page['empty']:.1f} s on an empty data folder (target: at most "
                 f"{TARGET_EMPTY_EXTRA_S:.0f} s more; medians of {args.runs}).\n")
    if args.page_only:
        result = {**machine(), "page_served_s": served}
        save(args.out, "cold_start_page", result,
             f"# Page served after start\n\nCPU: {result['cpu']} ({result['cpu_flags']}).\n\n"
             + page_line)
        return
    runs = [one_run(store, i, when_ready) for i in range(args.runs) for when_ready in (False, True)]
    for run in runs:
        print(f"run: {run}", file=sys.stderr, flush=True)
    rows = {}
    for when_ready, label in ((False, "asked when the page answers"), (True, "asked when the app is ready")):
        mine = [r for r in runs if r["when_ready"] == when_ready]
        first = median(r["first_ms"] for r in mine)
        later = median(t for r in mine for t in r["later_ms"])
        rows[label] = {"asked_s": median(r["asked_s"] for r in mine), "first_ms": first,
                       "later_ms": later, "ratio": round(first / later, 2)}
    result = {**machine(), "backend": settings.backend, "target_ratio": TARGET_RATIO,
              "summary": rows, "runs": runs, "page_served_s": served}
    table = (f"# First question after start\n\nCPU: {result['cpu']} ({result['cpu_flags']}); "
             f"backend {settings.backend}; {args.runs} starts of each kind, "
             f"{len(EXAMPLES) + 1} questions each; medians.\n\n"
             "| first question | asked after start | its first token | later questions' | ratio "
             f"(target ≤ {TARGET_RATIO}) |\n|---|---|---|---|---|\n"
             + "".join(f"| {label} | {r['asked_s']:.1f} s | {r['first_ms'] / 1000:.2f} s | "
                       f"{r['later_ms'] / 1000:.2f} s | **{r['ratio']}** |\n" for label, r in rows.items())
             + "\n" + page_line)
    save(args.out, "cold_start", result, table)


if __name__ == "__main__":
    main()
