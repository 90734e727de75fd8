"""Where a benchmark leaves its result: NAME.json (the figures) and NAME.md (the table), both in
the output folder, the table also on standard output."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from vectorstore.cpu import cpu_model, simd_flags


def machine() -> dict[str, str]:
    """The CPU a figure comes from and the instruction sets that decide model speed."""
    return {"cpu": cpu_model(), "cpu_flags": " ".join(simd_flags())}


def cpu_slug() -> str:
    """The CPU's name for a file name: "Intel(R) Xeon(R) Processor" -> "intel-xeon"."""
    words = re.sub(r"\((R|TM)\)|\b(Processor|CPU|\d+-Core)\b|@.*", " ", cpu_model(), flags=re.I)
    return "-".join(w.lower() for w in re.findall(r"[A-Za-z0-9]+", words)) or "cpu"


def save(out: Path, name: str, result: dict, table: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(table)
    sys.stdout.write(table)
