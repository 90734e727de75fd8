"""What this CPU is and which instruction sets it reports: the llama.cpp build and the
embedder's runtime are both chosen from it, and every benchmark names it."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_flags() -> set[str]:
    """The instruction-set flags the kernel reports for this CPU (empty off Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def simd_flags() -> list[str]:
    """The flags that decide model speed (vector, matrix and fused-multiply extensions), sorted:
    what a benchmark names and what a runtime measured on one CPU is matched against."""
    return sorted(f for f in cpu_flags() if f.startswith(("avx", "amx", "fma", "f16c")))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
