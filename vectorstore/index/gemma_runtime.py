"""Which engine runs EmbeddingGemma's graph on this CPU: chosen at set-up by measuring, recorded,
and reloaded at every start.

The same ONNX graph runs on ONNX Runtime in float32 (every CPU; the reference) or on OpenVINO,
in float32 or — where the CPU multiplies bfloat16 itself (AMX, AVX-512 BF16) — in bfloat16.
The set-up (`gemma_onnx.choose_runtime`) encodes its reference texts with each engine this CPU
can run, keeps those whose every vector lies within `gemma_onnx.MIN_COSINE` of ONNX Runtime's,
and records the fastest with the CPU it was measured on. A start on another CPU, or without the
engine's package, runs ONNX Runtime float32 and says why. Measured speeds and retrieval on the
dev sets: `docs/decisions.md` (`gemma_runtime`).

OpenVINO is installed without its optional `openvino-telemetry` package (scripts/setup): only
its model converter would use it, and Kenbron reads the ONNX graph directly.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vectorstore.cpu import cpu_flags, cpu_model, simd_flags
from vectorstore.defaults import AUTO

log = logging.getLogger(__name__)

RUNTIME_FILE = ".kenbron-runtime.json"
OPENVINO_CACHE = "openvino-cache"  # compiled graphs: a start takes 0.5 s instead of 4

if TYPE_CHECKING:  # the configuration imports this module: numpy only where a graph runs
    import numpy as np

# (input_ids, attention_mask) -> last hidden states
Runner = Callable[["np.ndarray", "np.ndarray"], "np.ndarray"]


@dataclass(frozen=True)
class Runtime:
    """One way to run the graph: an engine, a precision, and the CPU features it needs."""

    name: str
    engine: str  # the Python package that runs it
    precision: str  # "f32" or "bf16"
    needs: tuple[str, ...] = ()  # one of these /proc/cpuinfo flags

    def runs_here(self, flags: set[str]) -> bool:
        return (not self.needs or any(f in flags for f in self.needs)) and \
            importlib.util.find_spec(self.engine) is not None


REFERENCE = Runtime("onnxruntime-f32", "onnxruntime", "f32")
RUNTIMES = (
    REFERENCE,
    Runtime("openvino-f32", "openvino", "f32"),
    # without these OpenVINO would emulate bfloat16 or fall back to float32
    Runtime("openvino-bf16", "openvino", "bf16", needs=("amx_bf16", "avx512_bf16")),
)


@dataclass(frozen=True)
class Measurement:
    """One runtime on the reference texts: its lowest cosine to the reference and its speed."""

    runtime: str
    lowest_cosine: float
    tokens_per_s: float
    faithful: bool


@dataclass(frozen=True)
class Choice:
    """The runtime the set-up chose, on which CPU, and what it measured."""

    runtime: str
    cpu: str
    flags: tuple[str, ...]
    measured: tuple[Measurement, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps({"runtime": self.runtime, "cpu": self.cpu, "flags": list(self.flags),
                           "measured": [m.__dict__ for m in self.measured]}, indent=2) + "\n"

    @classmethod
    def read(cls, model_dir: Path) -> Choice | None:
        try:
            data = json.loads((model_dir / RUNTIME_FILE).read_text())
            return cls(data["runtime"], data["cpu"], tuple(data["flags"]),
                       tuple(Measurement(**m) for m in data.get("measured", ())))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def by_name(name: str) -> Runtime | None:
    return next((r for r in RUNTIMES if r.name == name), None)


def candidates() -> list[Runtime]:
    """The runtimes this CPU and this installation can run, the reference first."""
    flags = cpu_flags()
    return [r for r in RUNTIMES if r.runs_here(flags)]


def record(model_dir: Path, chosen: str, measured: list[Measurement]) -> Choice:
    """Write the choice, and drop the compiled graphs of the runtimes not chosen (1.2 GB each)."""
    choice = Choice(chosen, cpu_model(), tuple(simd_flags()), tuple(measured))
    (model_dir / RUNTIME_FILE).write_text(choice.to_json())
    runtime = by_name(chosen)
    for compiled in (model_dir / OPENVINO_CACHE).glob("*"):
        if runtime is None or runtime.engine != "openvino" or compiled.name != runtime.precision:
            shutil.rmtree(compiled, ignore_errors=True)
    return choice


def choice_for_this_cpu(model_dir: Path) -> Choice | None:
    """The set-up's choice if it was measured on a CPU with this one's instruction sets."""
    choice = Choice.read(model_dir)
    return choice if choice is not None and choice.flags == tuple(simd_flags()) else None


class RuntimeUnavailable(ValueError):
    """A runtime asked for by name that does not exist or cannot run on this machine."""


def runtime_to_load(model_dir: Path, wanted: str = AUTO) -> tuple[Runtime, str]:
    """The runtime to load and why: `wanted` by name, or with ``auto`` the set-up's choice."""
    if wanted == AUTO:
        return recorded_runtime(model_dir)
    runtime = by_name(wanted)
    if runtime is None:
        raise RuntimeUnavailable(f"unknown embedding runtime {wanted!r}; choose {AUTO} or one of "
                                 f"{', '.join(r.name for r in RUNTIMES)}")
    if not runtime.runs_here(cpu_flags()):
        needs = f" (needs one of {', '.join(runtime.needs)})" if runtime.needs else ""
        raise RuntimeUnavailable(f"the embedding runtime {wanted} cannot run here: "
                                 f"{runtime.engine} missing or the CPU lacks what it needs{needs}")
    return runtime, "asked for"


def recorded_runtime(model_dir: Path) -> tuple[Runtime, str]:
    """The set-up's choice if it was made on a CPU like this one and its engine is installed,
    else the reference; and why."""
    choice = Choice.read(model_dir)
    if choice is None:
        return REFERENCE, "no runtime measured at set-up"
    if choice.flags != tuple(simd_flags()):
        return REFERENCE, f"the runtime was measured on another CPU ({choice.cpu})"
    runtime = by_name(choice.runtime)
    if runtime is None or not runtime.runs_here(cpu_flags()):
        return REFERENCE, f"{choice.runtime} cannot run here"
    return runtime, "chosen at set-up"


def open_runner(runtime: Runtime, graph: Path, threads: int) -> Runner:
    """A function that runs `graph` on `runtime` with `threads` threads."""
    if runtime.engine == "onnxruntime":
        return _onnxruntime(graph, threads)
    if runtime.engine == "openvino":
        return _openvino(graph, threads, runtime.precision)
    raise ValueError(f"no engine {runtime.engine!r}")


def _onnxruntime(graph: Path, threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def run(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]

    return run


def _openvino(graph: Path, threads: int, precision: str) -> Runner:
    import numpy as np
    import openvino as ov

    compiled = ov.Core().compile_model(str(graph), "CPU", {
        "INFERENCE_PRECISION_HINT": precision,
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",  # one request at a time, all threads on it
        # one folder per precision: OpenVINO 2026.4 keys its cache without the precision hint
        # and runs a float32 blob as bfloat16 into a segmentation fault
        "CACHE_DIR": str(graph.parent / OPENVINO_CACHE / precision),
    })
    request = compiled.create_infer_request()

    def run(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # the request reuses its output buffer: copy before the next run overwrites it
        return np.array(request.infer({"input_ids": input_ids, "attention_mask": mask})[0])

    return run
