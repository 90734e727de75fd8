"""The regression gate: the dev set, extractive backend, thresholds from eval/thresholds.json."""

from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import BIN, REPO


def test_dev_set_meets_thresholds(corpus_data_dir, tmp_path):
    out = tmp_path / "eval"
    env = dict(os.environ, KENBRON_DATA_DIR=str(corpus_data_dir))
    env.pop("KENBRON_EMBEDDING", None)
    proc = subprocess.run(
        [str(BIN / "kenbron"), "eval", "--questions", str(REPO / "eval" / "questions.dev.jsonl"),
         "--backend", "extractive", "--out", str(out), "--gate", str(REPO / "eval" / "thresholds.json"),
         "--export", "ragas", str(out / "ragas.jsonl")],
        env=env, capture_output=True, text=True, timeout=1200)
    report = json.loads((out / "report.json").read_text())
    print(json.dumps(report["overall"], indent=1))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("results.jsonl", "report.json", "report.md", "metrics_by_category.png",
                 "metrics_by_language.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    assert set(report) >= {"overall", "by_category", "by_language", "config"}
    assert report["config"]["backend"] == "extractive"
    assert report["config"]["embedding"] == "gemma"  # the default (auto) with gemma installed
