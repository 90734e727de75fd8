"""What runs EmbeddingGemma on this CPU: every runtime this machine can run (each skipped with
its reason elsewhere) against the reference on real manual pages, the set-up's measured choice,
and what a start does with a choice made on another CPU or a runtime asked for by name."""

from __future__ import annotations

import importlib.util
import json
import shutil

import numpy as np
import pytest

from assistant.settings import Settings
from tests.conftest import REALDOCS
from vectorstore.cpu import cpu_flags
from vectorstore.index import gemma_onnx, gemma_runtime
from vectorstore.index.embeddings import GemmaEmbeddings
from vectorstore.index.gemma_runtime import REFERENCE, RUNTIMES, Choice, RuntimeUnavailable, runtime_to_load
from vectorstore.index.ingest import embedding_text

MODEL_DIR = Settings.from_env().embedding_model_dir


def _texts(n: int) -> list[str]:
    from vectorstore.index.chunking import chunk_document
    from vectorstore.readers.loaders import load_file

    pages = sorted((REALDOCS / "corpus" / "nl").glob("*.html"))[3:6] + sorted(
        (REALDOCS / "corpus" / "fr").glob("*.html"))[3:6]
    chunks = [c for page in pages for c in chunk_document(load_file(page), 200, 40)]
    return [GemmaEmbeddings.DOCUMENT + embedding_text(c) for c in chunks[:: max(1, len(chunks) // n)][:n]]


def _encoder(runtime):
    graph = gemma_onnx.verified_onnx(MODEL_DIR)
    return gemma_onnx.GemmaEncoder(MODEL_DIR, gemma_runtime.open_runner(runtime, graph, 2), runtime.name)


@pytest.fixture(scope="module")
def reference_vectors():
    texts = _texts(16) + [GemmaEmbeddings.QUERY + q for q in (
        "Hoe maak ik een laag doorzichtig?", "Comment appliquer un flou à une sélection ?")]
    return texts, _encoder(REFERENCE).encode(texts)


@pytest.mark.slow
@pytest.mark.parametrize("runtime", RUNTIMES, ids=[r.name for r in RUNTIMES])
def test_each_runtime_this_cpu_runs_gives_the_reference_vectors(runtime, reference_vectors):
    """Every vector within `MIN_COSINE` of ONNX Runtime float32's, and every text's nearest
    neighbour among the others the same, on manual pages the set-up did not measure."""
    if not runtime.runs_here(cpu_flags()):
        pytest.skip(f"{runtime.name} needs {runtime.engine} and one of {runtime.needs or 'no flag'}; "
                    "this machine lacks them")
    texts, expected = reference_vectors
    got = _encoder(runtime).encode(texts)
    assert np.min(np.sum(expected * got, axis=1)) >= gemma_onnx.MIN_COSINE
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)

    def neighbours(m):
        sims = m @ m.T
        np.fill_diagonal(sims, -1)
        return sims.argmax(axis=1).tolist()

    assert neighbours(got) == neighbours(expected)


@pytest.mark.slow
def test_the_set_up_records_the_fastest_faithful_runtime_once(tmp_path):
    """`choose_runtime` measures every candidate, records the fastest faithful one for this CPU
    and keeps only that one's compiled graph; run again, it measures nothing."""
    for item in MODEL_DIR.iterdir():  # the installed model, seen from a folder of its own
        if item.name not in (gemma_runtime.RUNTIME_FILE, gemma_runtime.OPENVINO_CACHE):
            (tmp_path / item.name).symlink_to(item)
    texts = _texts(6)
    choice = gemma_onnx.choose_runtime(tmp_path, texts)
    runnable = [r.name for r in gemma_runtime.candidates()]
    assert [m.runtime for m in choice.measured] == runnable
    assert all(m.tokens_per_s > 0 for m in choice.measured)
    faithful = [m for m in choice.measured if m.faithful]
    assert choice.runtime == max(faithful, key=lambda m: m.tokens_per_s).runtime
    assert Choice.read(tmp_path) == choice
    assert runtime_to_load(tmp_path) == (gemma_runtime.by_name(choice.runtime), "chosen at set-up")
    kept = {p.name for p in (tmp_path / gemma_runtime.OPENVINO_CACHE).glob("*")}
    chosen = gemma_runtime.by_name(choice.runtime)
    assert kept == ({chosen.precision} if chosen.engine == "openvino" else set())
    written = (tmp_path / gemma_runtime.RUNTIME_FILE).stat().st_mtime_ns
    assert gemma_onnx.choose_runtime(tmp_path, texts) == choice
    assert (tmp_path / gemma_runtime.RUNTIME_FILE).stat().st_mtime_ns == written
    shutil.rmtree(tmp_path / gemma_runtime.OPENVINO_CACHE, ignore_errors=True)  # 1.2 GB


def test_a_choice_made_on_another_cpu_or_unreadable_falls_back_to_the_reference(tmp_path):
    assert runtime_to_load(tmp_path) == (REFERENCE, "no runtime measured at set-up")
    (tmp_path / gemma_runtime.RUNTIME_FILE).write_text("{not json")
    assert runtime_to_load(tmp_path) == (REFERENCE, "no runtime measured at set-up")
    other = Choice("openvino-bf16", "Some Other CPU", ("avx", "avx2", "fma"))
    (tmp_path / gemma_runtime.RUNTIME_FILE).write_text(other.to_json())
    runtime, why = runtime_to_load(tmp_path)
    assert runtime == REFERENCE and "another CPU (Some Other CPU)" in why


def test_a_runtime_asked_for_by_name_must_exist_and_run_here(tmp_path, monkeypatch):
    assert runtime_to_load(tmp_path, "onnxruntime-f32") == (REFERENCE, "asked for")
    with pytest.raises(RuntimeUnavailable, match="unknown embedding runtime 'tpu'"):
        runtime_to_load(tmp_path, "tpu")
    monkeypatch.setattr(gemma_runtime, "cpu_flags", lambda: {"avx", "avx2"})
    with pytest.raises(RuntimeUnavailable, match="openvino-bf16 cannot run here.*amx_bf16"):
        runtime_to_load(tmp_path, "openvino-bf16")
    with pytest.raises(ValueError, match="unknown embedding runtime"):
        Settings.from_env(embedding_runtime="tpu")


def test_openvino_is_installed_without_its_telemetry_package():
    """scripts/setup installs OpenVINO with --no-deps: the package that could send usage data
    is not there (the runtime reads the ONNX graph itself and never needs it)."""
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("OpenVINO is not installed here")
    assert importlib.util.find_spec("openvino_telemetry") is None


def test_the_runtime_record_reads_back_what_was_written(tmp_path):
    choice = Choice("openvino-f32", "CPU", ("avx2",),
                    (gemma_runtime.Measurement("openvino-f32", 0.99999, 1000.0, True),))
    (tmp_path / gemma_runtime.RUNTIME_FILE).write_text(choice.to_json())
    assert Choice.read(tmp_path) == choice
    assert json.loads(choice.to_json())["measured"][0]["tokens_per_s"] == 1000.0
