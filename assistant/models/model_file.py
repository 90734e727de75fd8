"""The local model's file: the one release Kenbron runs, checked before a worker starts it (and
by the doctor); installing it is `assistant.provisioning.model_install`'s job."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import MODEL_BYTES, MODEL_SHA256
from vectorstore.index.gemma_onnx import sha256_of


class ModelError(RuntimeError):
    """The local model file is missing or is not the expected release."""


def verify_model(path: Path) -> None:
    """Raise `ModelError` with the fix when ``path`` is not the verified model."""
    fix = "run `.venv/bin/python -m assistant.provisioning.model_install` (or scripts/setup) to install it"
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
