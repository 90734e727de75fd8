"""Build llama-cpp-python for the CPU in front of us, and prove the build runs before using it.

Why not `pip install llama-cpp-python`: its native build (`-march=native`) turns on every
instruction set the compiler knows of the CPU, AMX included, and on a 2-core machine reporting
`amx_tile amx_int8 amx_bf16` that build dies with a general protection fault in
`libggml-cpu.so` on any prompt longer than one token. pip's own wheel cache is keyed by the
source archive, not by the compile flags, so a wheel built on another CPU would be reused here.

So: the compile flags are derived from /proc/cpuinfo (never AMX), tiers go from the richest set
this CPU reports down to the x86-64 baseline, and each built wheel is kept in a folder keyed by
its flags. After installing a wheel, a child process evaluates a prompt of a few hundred tokens
with the real model; if the child crashes, the next, more conservative tier is built. The tier
that passed is recorded beside the interpreter (`llama-build.json`) for `kenbron doctor`.

Run as ``python -m assistant.provisioning.llama_build [--model FILE]``; idempotent when the recorded build
matches this CPU and still passes its smoke test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.settings import default_cache_dir, environment_with
from vectorstore.cpu import cpu_flags, cpu_model

log = logging.getLogger(__name__)

VERSION = "0.3.36"
RECORD = Path(sys.prefix) / "llama-build.json"
SMOKE_PROMPT_TOKENS = 400
SMOKE_TIMEOUT_S = 600

# ggml CMake option -> the /proc/cpuinfo flags the CPU must report for it.
_FEATURES: dict[str, tuple[str, ...]] = {
    "GGML_SSE42": ("sse4_2",),
    "GGML_AVX": ("avx",),
    "GGML_AVX2": ("avx2",),
    "GGML_FMA": ("fma",),
    "GGML_F16C": ("f16c",),
    "GGML_BMI2": ("bmi2",),
    "GGML_AVX_VNNI": ("avx_vnni",),
    # ggml compiles GGML_AVX512 as -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw.
    "GGML_AVX512": ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"),
    "GGML_AVX512_VBMI": ("avx512vbmi",),
    "GGML_AVX512_VNNI": ("avx512_vnni",),
    "GGML_AVX512_BF16": ("avx512_bf16",),
}
# Options of each tier, richest first; a tier uses those of its options the CPU reports.
_TIERS: dict[str, tuple[str, ...]] = {
    "avx512": tuple(_FEATURES),
    "avx2": ("GGML_SSE42", "GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2"),
    "baseline": (),
}
_DEFINING = {"avx512": "GGML_AVX512", "avx2": "GGML_AVX2"}
_ALWAYS_OFF = ("GGML_NATIVE", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")


class BuildError(RuntimeError):
    """No build of llama.cpp runs on this machine; the message says what was tried and the fix."""


@dataclass(frozen=True)
class Build:
    """One way of compiling llama.cpp: a tier name and the CMake options it switches on."""

    tier: str
    options: tuple[str, ...]

    @property
    def cmake_args(self) -> str:
        on = [f"-D{opt}=ON" for opt in self.options]
        off = [f"-D{opt}=OFF" for opt in (*_ALWAYS_OFF, *(o for o in _FEATURES if o not in self.options))]
        return " ".join(sorted(on) + sorted(off))

    @property
    def key(self) -> str:
        """Names the wheel folder: same flags, Python and version -> same binary, nothing else."""
        tag = f"{VERSION} {platform.machine()} {sys.implementation.cache_tag} {self.cmake_args}"
        return f"{VERSION}-{self.tier}-{hashlib.sha256(tag.encode()).hexdigest()[:12]}"


def candidate_builds(flags: set[str]) -> list[Build]:
    """The builds to try on a CPU with `flags`, most capable first, without duplicates."""
    builds: list[Build] = []
    for tier, options in _TIERS.items():
        usable = tuple(o for o in options if all(f in flags for f in _FEATURES[o]))
        if _DEFINING.get(tier, "") not in (*usable, ""):
            continue  # without its defining instruction set a tier is just the next one
        if all(b.options != usable for b in builds):
            builds.append(Build(tier, usable))
    return builds


def wheel_dir(build: Build) -> Path:
    return default_cache_dir() / "wheels" / f"llama-cpp-python-{build.key}"


def build_wheel(build: Build) -> Path:
    """Compile the wheel for `build` unless its folder already holds one; returns the wheel."""
    folder = wheel_dir(build)
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    if found:
        log.info("reusing the %s build of llama-cpp-python: %s", build.tier, found[-1])
        return found[-1]
    folder.mkdir(parents=True, exist_ok=True)
    log.info("compiling llama-cpp-python %s for the %s tier (about 5 minutes on 2 cores)", VERSION,
             build.tier)
    env = environment_with(CMAKE_ARGS=build.cmake_args,
                           CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2))
    # --no-cache-dir: pip's cache is keyed by the source archive, not by CMAKE_ARGS.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir",
                    "--no-binary", "llama-cpp-python", "-w", str(folder), f"llama-cpp-python=={VERSION}"],
                   env=env, check=True)
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    if not found:
        raise BuildError(f"pip built no wheel into {folder}")
    return found[-1]


def install_wheel(wheel: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps",
                    str(wheel)], check=True)
    # The server extra's dependencies, from the index; the binary itself never comes from there.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"{wheel}[server]"], check=True)


def smoke_test(model: Path, threads: int = 2) -> dict:
    """Evaluate a few-hundred-token prompt in a child process; its crash cannot take us down.

    Returns the measured prompt and generation speed; raises `BuildError` naming the signal or
    exit status of a child that crashed.
    """
    cmd = [sys.executable, "-m", "assistant.provisioning.llama_build", "--child", str(model),
           "--threads", str(threads)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"the smoke test did not finish within {SMOKE_TIMEOUT_S} s") from exc
    if run.returncode != 0:
        how = (f"killed by signal {-run.returncode}" if run.returncode < 0
               else f"exit status {run.returncode}")
        tail = run.stderr.strip().splitlines()[-3:]
        raise BuildError(f"the smoke test crashed ({how}): {' | '.join(tail)}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def measure_speed(model: Path, threads: int, prompt_tokens: int = SMOKE_PROMPT_TOKENS,
                  gen_tokens: int = 32) -> dict:
    """Prompt and generation tokens/s of the installed build, measured in this process."""
    from llama_cpp import Llama, llama_print_system_info

    llama = Llama(model_path=str(model), n_ctx=2048, n_threads=threads, n_batch=512, verbose=False, seed=0)
    words = ("De kennisbron beantwoordt vragen over documenten en citeert elke bewering. " * 80).encode()
    tokens = llama.tokenize(words, add_bos=True)[:prompt_tokens]
    # warm-up: the first evaluation pages the memory-mapped weights in and starts the threads
    llama.eval(tokens[:32])
    llama.reset()
    start = time.perf_counter()
    llama.eval(tokens)
    prompt_s = time.perf_counter() - start
    produced, gen_start = 0, 0.0
    for token in llama.generate(tokens, temp=0.0, reset=False):
        if produced == 0:
            gen_start = time.perf_counter()  # the first token is the prompt's last logits
        produced += 1
        if produced > gen_tokens or token == llama.token_eos():
            break
    gen_s = time.perf_counter() - gen_start
    produced -= 1
    return {"prompt_tokens": len(tokens), "prompt_tokens_per_s": round(len(tokens) / prompt_s, 1),
            "generated_tokens": produced, "generation_tokens_per_s": round(produced / gen_s, 1),
            "system_info": llama_print_system_info().decode(errors="replace").strip()}


def read_record() -> dict | None:
    try:
        return json.loads(RECORD.read_text())
    except (OSError, ValueError):
        return None


def ensure_build(model: Path, threads: int = 2) -> dict:
    """Install the most capable llama.cpp build whose smoke test passes on this CPU."""
    flags = cpu_flags()
    builds = candidate_builds(flags)
    record = read_record()
    if record and record.get("key") in {b.key for b in builds}:
        try:
            speed = smoke_test(model, threads)
            log.info("llama-cpp-python %s build already installed and working (%s prompt tokens/s)",
                     record["tier"], speed["prompt_tokens_per_s"])
            return record
        except BuildError as exc:
            log.warning("the installed %s build no longer passes its smoke test: %s", record["tier"], exc)
    failures = []
    for build in builds:
        try:
            install_wheel(build_wheel(build))
            speed = smoke_test(model, threads)
        except (BuildError, subprocess.CalledProcessError) as exc:
            failures.append(f"{build.tier}: {exc}")
            log.warning("the %s build of llama.cpp does not work here (%s); trying a more conservative one",
                        build.tier, exc)
            continue
        record = {"tier": build.tier, "key": build.key, "cmake_args": build.cmake_args,
                  "cpu": cpu_model(), "version": VERSION, **speed}
        RECORD.write_text(json.dumps(record, indent=2) + "\n")
        log.info("llama-cpp-python %s build installed: %s prompt tokens/s, %s generated tokens/s",
                 build.tier, speed["prompt_tokens_per_s"], speed["generation_tokens_per_s"])
        return record
    raise BuildError(
        "no build of llama.cpp runs on this CPU (" + "; ".join(failures) + "). The local model cannot "
        "run here; use KENBRON_LLM=extractive, or an OpenAI-compatible server with OPENAI_BASE_URL.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="the GGUF file for the smoke test")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # the smoke test's child process: may crash, and only it goes down
        # the smoke test's answer to its parent (`smoke_test` reads the last line)
        sys.stdout.write(json.dumps(measure_speed(args.child, args.threads)) + "\n")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from assistant.settings import Settings

    model = args.model or Settings.from_env().model_path
    try:
        ensure_build(model, args.threads)
    except BuildError as exc:
        log.error("error: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
