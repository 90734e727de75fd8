"""Where a benchmark leaves its result: NAME.json (the figures) and NAME.md (the table), both in
the output folder, the table also on standard output."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def save(out: Path, name: str, result: dict, table: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(table)
    sys.stdout.write(table)
