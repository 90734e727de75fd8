"""Where a benchmark leaves its result: NAME.json (the figures) and NAME.md (the table), both in
the output folder, the table also on standard output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.provisioning.llama_build import cpu_flags, cpu_model


def machine() -> dict[str, str]:
    """The CPU a figure comes from and the instruction sets that decide model speed."""
    return {"cpu": cpu_model(), "cpu_flags": " ".join(sorted(
        f for f in cpu_flags() if f.startswith(("avx", "amx", "fma", "f16c"))))}


def save(out: Path, name: str, result: dict, table: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(table)
    sys.stdout.write(table)
