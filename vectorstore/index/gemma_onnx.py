"""EmbeddingGemma-300M on ONNX Runtime: how its graph is built at set-up and how it is run.

Why not sentence-transformers on torch, as before: ingest and search then need torch (about
750 MB) and its start-up, and the runtime is where ingest spends its time. ONNX Runtime in
float32 is as fast as torch with identical vectors; int8 (dynamic or blockwise), 4-bit weights
and llama.cpp were measured and either changed the vectors or retrieval, or were slower
(`docs/decisions.md`: `gemma_onnx`). Gemma's activations have outliers that one int8 scale per
tensor cannot hold. On two cores the model runs near their float32 peak (≈100M weights outside
the embedding table, 0.2 GFLOP a token).

On CPUs that multiply bfloat16 (AMX, AVX-512 BF16) OpenVINO runs the same graph in bfloat16,
within `MIN_COSINE` of float32 and several times faster; which runtime runs where is
`gemma_runtime`'s, measured at set-up by `choose_runtime` (`docs/decisions.md`: `gemma_runtime`).

The graph is exported from the pinned safetensors weights with torch at set-up (`build`,
called by ``python -m assistant.provisioning.model_install --embedding``) and kept only if every vector of
the reference texts is within cosine `MIN_COSINE` of sentence-transformers' vectors; a stamp
records the file's SHA-256, size and time, checked before the model is used (size and time at
every load, the checksum by the set-up and `kenbron doctor`). At run time only onnxruntime (or
OpenVINO), tokenizers, safetensors and numpy are needed, and nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vectorstore.defaults import AUTO
from vectorstore.index.gemma_runtime import (
    OPENVINO_CACHE,
    REFERENCE,
    RUNTIME_FILE,
    Choice,
    Measurement,
    Runner,
    candidates,
    choice_for_this_cpu,
    open_runner,
    record,
    runtime_to_load,
)

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
STAMP_FILE = ".kenbron-onnx.json"
MIN_COSINE = 0.999  # float32 against float32: only the order of additions differs
MAX_TOKENS = 2048  # the model's context; longer texts are truncated as sentence-transformers does
BATCH_TOKENS = 2048  # padded tokens per run: small batches keep padding low and queries waiting little
MAX_BATCH = 16


class GemmaRuntimeMissing(RuntimeError):
    """The ONNX graph is not built or not the one that was verified."""


class GemmaEncoder:
    """Tokenizer, graph runner and dense head of one installed model directory."""

    def __init__(self, model_dir: Path, runner: Runner, runtime: str = REFERENCE.name) -> None:
        from tokenizers import Tokenizer

        self.runner = runner
        self.runtime = runtime
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self.head = dense_head(model_dir)
        self._lock = threading.Lock()  # one run at a time: a query waits for one batch, not an ingest

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts`: the mean of all token states (prompt included, as the model
        was trained) through the dense head."""
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        pooled = np.zeros((len(texts), self.head.shape[0]), np.float32)
        for batch in _batches([len(e.ids) for e in encodings]):
            states = self._run([encodings[i].ids for i in batch])
            for row, i in enumerate(batch):
                pooled[i] = states[row, : len(encodings[i].ids)].mean(axis=0)
        return unit_rows(pooled @ self.head)

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in ids)
        input_ids = np.zeros((len(ids), width), np.int64)
        mask = np.zeros((len(ids), width), np.int64)
        for row, x in enumerate(ids):
            input_ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        with self._lock:
            return self.runner(input_ids, mask)


def open_encoder(model_dir: Path, threads: int, runtime_name: str = AUTO) -> GemmaEncoder:
    """The encoder of an installed model, its graph checked against the set-up's stamp, run by
    the runtime named, or with ``auto`` the one the set-up chose for this CPU (`gemma_runtime`)."""
    graph = verified_onnx(model_dir)
    runtime, why = runtime_to_load(model_dir, runtime_name)
    log.info("EmbeddingGemma runs on %s (%s)", runtime.name, why)
    return GemmaEncoder(model_dir, open_runner(runtime, graph, threads), runtime.name)


def choose_runtime(model_dir: Path, texts: Sequence[str], threads: int = 2) -> Choice:
    """Measure every runtime this CPU can run on `texts` and record the fastest whose vectors
    all lie within `MIN_COSINE` of the reference runtime's. Idempotent: a choice made on this
    CPU among the same candidates is kept."""
    graph = verified_onnx(model_dir)
    runnable = candidates()
    kept = choice_for_this_cpu(model_dir)
    if kept is not None and {m.runtime for m in kept.measured} == {r.name for r in runnable}:
        return kept
    tokens = None
    reference: np.ndarray | None = None
    measured: list[Measurement] = []
    for runtime in runnable:
        encoder = GemmaEncoder(model_dir, open_runner(runtime, graph, threads), runtime.name)
        encoder.encode(texts[:2])  # first run: allocation and kernel selection
        tokens = tokens or sum(len(e.ids) for e in encoder.tokenizer.encode_batch(list(texts)))
        start = time.perf_counter()
        vectors = encoder.encode(texts)
        rate = tokens / (time.perf_counter() - start)
        reference = vectors if reference is None else reference
        lowest = float(np.min(np.sum(reference * vectors, axis=1)))
        measured.append(Measurement(runtime.name, round(lowest, 6), round(rate, 1),
                                    lowest >= MIN_COSINE))
        log.info("  %-16s %7.0f tokens/s, lowest cosine to %s %.5f", runtime.name, rate,
                 REFERENCE.name, lowest)
    best = max((m for m in measured if m.faithful), key=lambda m: m.tokens_per_s)
    choice = record(model_dir, best.runtime, measured)
    log.info("EmbeddingGemma will run on %s on this CPU", choice.runtime)
    return choice


def _batches(lengths: list[int]) -> list[list[int]]:
    """Indices grouped by similar length (sorted), each group within the padded-token budget."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < MAX_BATCH and \
                lengths[i] * (len(batches[-1]) + 1) <= BATCH_TOKENS:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def unit_rows(m: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (cosine becomes a dot product), as float32."""
    m = np.asarray(m, dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def dense_head(model_dir: Path) -> np.ndarray:
    """The two dense layers after pooling as one 768×768 matrix: both are linear without bias or
    activation (``2_Dense``, ``3_Dense`` in sentence-transformers' layout), so their product is
    the same map in one multiplication."""
    from safetensors.numpy import load_file

    first = load_file(str(model_dir / "2_Dense" / "model.safetensors"))["linear.weight"]
    second = load_file(str(model_dir / "3_Dense" / "model.safetensors"))["linear.weight"]
    return (second @ first).T.astype(np.float32)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def onnx_built(model_dir: Path) -> bool:
    """Whether the graph and its stamp are there (`verified_onnx` checks they belong together)."""
    return (model_dir / ONNX_FILE).is_file() and (model_dir / STAMP_FILE).is_file()


def verified_onnx(model_dir: Path, full: bool = False) -> Path:
    """The graph, if it is the one built and verified at set-up: same size and modification time
    as recorded (cheap, at every load), and with `full` the same SHA-256 (seconds; the doctor)."""
    path, stamp = model_dir / ONNX_FILE, model_dir / STAMP_FILE
    if not onnx_built(model_dir):
        raise GemmaRuntimeMissing(
            f"the EmbeddingGemma ONNX graph is not built in {model_dir}; run "
            "`.venv/bin/pip install -e '.[gemma]'` and "
            "`.venv/bin/python -m assistant.provisioning.model_install --embedding`")
    recorded = json.loads(stamp.read_text())
    info = path.stat()
    if (recorded.get("bytes"), recorded.get("mtime_ns")) != (info.st_size, info.st_mtime_ns) or (
            full and recorded.get("sha256") != sha256_of(path)):
        raise GemmaRuntimeMissing(
            f"{path} does not match the graph verified at set-up; rebuild it with "
            "`.venv/bin/python -m assistant.provisioning.model_install --embedding`")
    return path


def build(model_dir: Path, reference_texts: Sequence[str], threads: int = 2) -> Path:
    """Export and verify the graph (set-up only: needs the `gemma` extra's torch,
    sentence-transformers and onnxscript). Idempotent: a verified graph is kept."""
    try:
        return verified_onnx(model_dir, full=True)
    except GemmaRuntimeMissing:
        pass
    with tempfile.TemporaryDirectory(prefix="kenbron-onnx-", dir=model_dir) as tmp:
        graph = Path(tmp) / ONNX_FILE
        log.info("exporting EmbeddingGemma to ONNX (about 2 minutes) …")
        _export(model_dir, graph)
        lowest = _lowest_cosine(model_dir, graph, reference_texts, threads)
        if lowest < MIN_COSINE:
            raise GemmaRuntimeMissing(
                f"the exported graph's vectors differ from the reference (lowest cosine "
                f"{lowest:.4f} < {MIN_COSINE}); refused")
        graph.replace(model_dir / ONNX_FILE)
    # compiled from, and measured on, the old graph
    shutil.rmtree(model_dir / OPENVINO_CACHE, ignore_errors=True)
    (model_dir / RUNTIME_FILE).unlink(missing_ok=True)
    info = (model_dir / ONNX_FILE).stat()
    stamp = {"sha256": sha256_of(model_dir / ONNX_FILE), "bytes": info.st_size,
             "mtime_ns": info.st_mtime_ns, "lowest_cosine": round(lowest, 5),
             "reference_texts": len(reference_texts)}
    (model_dir / STAMP_FILE).write_text(json.dumps(stamp, indent=2) + "\n")
    log.info("EmbeddingGemma ONNX graph built: lowest cosine to float32 %.4f over %d texts",
             lowest, len(reference_texts))
    return model_dir / ONNX_FILE


def _export(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                      attn_implementation="eager").eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              use_cache=False).last_hidden_state

    ids = torch.randint(10, 1000, (2, 17))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        program = torch.onnx.export(LastHiddenState(), (ids, mask), dynamo=True,
                                    input_names=["input_ids", "attention_mask"],
                                    output_names=["last_hidden_state"],
                                    dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                                  "last_hidden_state": axes})
    program.save(str(out), external_data=False)  # one file (1.2 GB, under protobuf's 2 GB)


def _lowest_cosine(model_dir: Path, graph: Path, texts: Sequence[str], threads: int) -> float:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    reference = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    expected = reference.encode(list(texts), normalize_embeddings=True, batch_size=8)
    got = GemmaEncoder(model_dir, open_runner(REFERENCE, graph, threads)).encode(texts)
    return float(np.min(np.sum(expected * got, axis=1)))
