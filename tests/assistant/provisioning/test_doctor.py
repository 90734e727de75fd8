"""`kenbron doctor` on this machine: a healthy set-up passes; each broken part fails with its fix."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from assistant.provisioning.model_install import GEMMA_ZIP_SHA256
from tests.conftest import BIN


def doctor(data_dir, *args: str, **env: str) -> tuple[int, list[dict]]:
    full = dict(os.environ, KENBRON_DATA_DIR=str(data_dir))
    full.pop("KENBRON_EMBEDDING", None)
    full.update(env)
    run = subprocess.run([str(BIN / "kenbron"), "doctor", "--json", *args], env=full,
                         capture_output=True, text=True, timeout=600)
    return run.returncode, json.loads(run.stdout)


@pytest.mark.llm
def test_doctor_measures_the_local_model_on_a_healthy_setup(corpus_data_dir):
    status, checks = doctor(corpus_data_dir)
    by_name = {c["name"]: c for c in checks}
    assert status == 0, checks
    speed = by_name["local model speed"]["data"]
    assert speed["prompt_tokens_per_s"] > 0 and speed["generation_tokens_per_s"] > 0
    assert "AVX" in speed["system_info"] or "SSE" in speed["system_info"]
    assert "AMX" not in by_name["llama.cpp build"]["detail"].replace("AMX_", "")  # never compiled in
    assert "5 documents" in by_name["store"]["detail"]


def test_doctor_fails_with_the_fix_for_a_missing_model_and_an_empty_store(tmp_path):
    status, checks = doctor(tmp_path / "empty", KENBRON_MODEL_PATH=str(tmp_path / "none.gguf"))
    by_name = {c["name"]: c for c in checks}
    assert status == 1
    assert not by_name["local model"]["ok"] and "model_install" in by_name["local model"]["fix"]
    assert "local model speed" not in by_name  # nothing to measure without a model
    assert not by_name["store"]["ok"] and "kenbron ingest" in by_name["store"]["fix"]


def test_doctor_for_the_extractive_backend_skips_the_model(corpus_data_dir):
    status, checks = doctor(corpus_data_dir, "--backend", "extractive")
    assert status == 0
    assert [c["name"] for c in checks] == ["cpu", "backend", "embedding model", "embedding runtime",
                                           "store", "ocr", "app"]
    by_name = {c["name"]: c for c in checks}
    # the set-up measured the runtimes this CPU runs; the one in use is among them
    runtime = by_name["embedding runtime"]["data"]
    assert runtime["why"] == "chosen at set-up"
    assert runtime["runtime"] in [m["runtime"] for m in runtime["measured"] if m["faithful"]]
    assert "tokens/s" in by_name["embedding runtime"]["detail"]
    # `auto` filled the store with gemma, which scripts/test installs; so is Tesseract
    assert "embeddings: gemma" in by_name["store"]["detail"]
    assert "Tesseract reads scanned PDFs" in by_name["ocr"]["detail"]
    assert "nld" in by_name["ocr"]["detail"] and "fra" in by_name["ocr"]["detail"]


def test_doctor_checks_the_gemma_model(tmp_path):
    """Installed by scripts/test: ok; a directory without it: the install command as the fix,
    a failure when gemma is asked for, a hint when `auto` can fall back."""
    status, checks = doctor(tmp_path / "empty", "--backend", "extractive", KENBRON_EMBEDDING="gemma")
    assert {c["name"]: c for c in checks}["embedding model"]["ok"]
    status, checks = doctor(tmp_path / "empty", "--backend", "extractive",
                            KENBRON_EMBEDDING="gemma",
                            KENBRON_EMBEDDING_MODEL_DIR=str(tmp_path / "nowhere"))
    check = {c["name"]: c for c in checks}["embedding model"]
    assert status == 1 and not check["ok"] and "model_install --embedding" in check["fix"]
    status, checks = doctor(tmp_path / "empty", "--backend", "extractive",
                            KENBRON_EMBEDDING_MODEL_DIR=str(tmp_path / "nowhere"))
    check = {c["name"]: c for c in checks}["embedding model"]
    assert check["ok"] and "use+e5" in check["detail"] and "model_install --embedding" in check["fix"]
    status, checks = doctor(tmp_path / "empty", "--backend", "extractive", KENBRON_EMBEDDING="use")
    assert "embedding model" not in {c["name"] for c in checks}
    # the weights without the ONNX graph the set-up builds from them
    weights_only = tmp_path / "weights-only"
    weights_only.mkdir()
    (weights_only / ".kenbron-sha256").write_text(GEMMA_ZIP_SHA256 + "\n")
    status, checks = doctor(tmp_path / "empty", "--backend", "extractive", KENBRON_EMBEDDING="gemma",
                            KENBRON_EMBEDDING_MODEL_DIR=str(weights_only))
    check = {c["name"]: c for c in checks}["embedding model"]
    assert status == 1 and "ONNX graph is not built" in check["detail"]


@pytest.mark.slow
def test_doctor_hints_at_gemma_for_a_store_filled_before_it(tmp_path):
    """`auto` keeps a store's model; with gemma installed the doctor says how to move to it."""
    note = tmp_path / "note.txt"
    note.write_text("De bakker in Gent verkoopt sinds 1990 roggebrood.", encoding="utf-8")
    env = dict(os.environ, KENBRON_DATA_DIR=str(tmp_path / "data"), KENBRON_EMBEDDING="use")
    subprocess.run([str(BIN / "kenbron"), "ingest", str(note)], env=env, check=True,
                   capture_output=True, timeout=300)
    status, checks = doctor(tmp_path / "data", "--backend", "extractive")
    store = {c["name"]: c for c in checks}["store"]
    assert status == 0 and store["ok"] and "embeddings: use" in store["detail"]
    assert "new KENBRON_DATA_DIR" in store["fix"]
