"""The `kenbron` console script, run as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

KENBRON = str(Path(sys.executable).parent / "kenbron")


def run(*args: str, data_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, KENBRON_DATA_DIR=str(data_dir), KENBRON_EMBEDDING="use")
    env.pop("CHROMA_HOST", None)
    proc = subprocess.run([KENBRON, *args], capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_ingest_sources_search_remove(tmp_path, docs_dir):
    (docs_dir / "bad.pdf").write_bytes(b"not a pdf")
    data = tmp_path / "kb"
    out = run("ingest", str(docs_dir), "--json", data_dir=data, check=False)
    assert out.returncode == 1  # a rejected file makes the run fail, after ingesting the rest
    report = json.loads(out.stdout)
    assert len(report["added"]) == 2
    assert report["rejected"][0]["path"].endswith("bad.pdf")
    (docs_dir / "bad.pdf").unlink()

    again = json.loads(run("ingest", str(docs_dir), "--json", data_dir=data).stdout)
    assert again["added"] == [] and len(again["skipped"]) == 2 and again["chunks_embedded"] == 0

    sources = json.loads(run("sources", "--json", data_dir=data).stdout)
    assert {s["source"] for s in sources} == {"001_be6fdfb56eccf482.txt", "003_aa336149584e727f.txt"}
    assert all(s["chunks"] > 0 and s["language"] in ("nl", "fr") for s in sources)
    listing = run("sources", data_dir=data).stdout
    assert "2026-01-21" in listing

    hits = json.loads(run("search", "Combien de décès Musk a-t-il liés à ChatGPT ?", "-k", "3",
                          "--json", data_dir=data).stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert set(hits[0]) >= {"rank", "source", "title", "chunk_id", "text", "score", "language"}
    assert hits[0]["source"] == "001_be6fdfb56eccf482.txt"

    run("remove", "001_be6fdfb56eccf482.txt", data_dir=data)
    sources = json.loads(run("sources", "--json", data_dir=data).stdout)
    assert [s["source"] for s in sources] == ["003_aa336149584e727f.txt"]
    missing = run("remove", "001_be6fdfb56eccf482.txt", data_dir=data, check=False)
    assert missing.returncode != 0 and "no ingested document" in missing.stderr


def test_embedding_mismatch_is_a_clear_error(tmp_path, docs_dir):
    data = tmp_path / "kb"
    ingest = run("ingest", str(docs_dir / "003_aa336149584e727f.txt"), data_dir=data)
    # stderr is no terminal here (a log, CI): progress still shows, as lines, not redraws
    assert re.search(r"files: 100%.*1/1", ingest.stderr) and "\r" not in ingest.stderr
    proc = run("search", "brug", "--embedding", "e5", data_dir=data, check=False)
    assert proc.returncode == 1
    assert "cannot be mixed" in proc.stderr and "Traceback" not in proc.stderr


def test_empty_question_is_refused(tmp_path, docs_dir):
    proc = run("search", "   ", data_dir=tmp_path / "kb", check=False)
    assert proc.returncode != 0 and "empty" in proc.stderr
