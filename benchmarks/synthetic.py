"""Synthetic collections for the benchmark, and a cheap embedder to fill them with.

Collections: the bundled corpus's sentences recombined into new articles. Each article draws
sentences (seeded, so runs are repeatable) from one language of the corpus, with every number
replaced by a random one and capitalised words swapped for invented names, so that a large
collection has a realistic vocabulary size and length distribution without repeating chunks.
Retrieval quality on it means nothing; its cost is what is measured.

`HashEmbeddings` is a feature-hashing bag of words (512-d, numpy): it lets 100k-chunk collections
be built in minutes so the benchmark measures the pipeline (chunking, Chroma writes, BM25, the
registry) rather than a neural model. The neural models' own throughput is measured separately
on a sample.
"""

from __future__ import annotations

import random
import re
import zlib
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from vectorstore.index.chunking import chunk_document, sentence_spans
from vectorstore.readers.loaders import load_file

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NAME = re.compile(r"(?<=\s)[A-Z][a-zà-ÿ]{3,}")
_SYLLABLES = ["ka", "ren", "bo", "li", "mar", "tes", "vo", "dan", "el", "sa", "rik", "mo", "zu",
              "an", "ter", "pol", "gri", "na", "ves", "tor"]


class HashEmbeddings(Embeddings):
    """Bag-of-words feature hashing with signs, L2-normalised; deterministic and fast."""

    name = "bench-hash"
    dimension = 512

    def __init__(self) -> None:
        self.calls = 0  # texts embedded, so a benchmark can prove a re-ingest embedded nothing

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            h = zlib.crc32(word.encode())
            v[h % self.dimension] += 1.0 if h & 0x80000000 else -1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vector(t).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()


def corpus_sentences() -> dict[str, list[str]]:
    """Sentences of the bundled corpus, by language."""
    by_language: dict[str, list[str]] = {}
    for path in sorted(CORPUS.iterdir()):
        doc = load_file(path)
        sentences = [doc.text[s:e].strip() for s, e in sentence_spans(doc.text)]
        by_language.setdefault(doc.language, []).extend(s for s in sentences if len(s.split()) >= 4)
    return by_language


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def article(rng: random.Random, sentences: list[str], n_sentences: int, index: int) -> str:
    """One synthetic article: a title line, then paragraphs of recombined sentences."""
    picked = [rng.choice(sentences) for _ in range(n_sentences)]
    varied = [_NAME.sub(lambda m: _name(rng) if rng.random() < 0.5 else m.group(0),
                        _NUMBER.sub(lambda m: str(rng.randint(1, 99999)), s)) for s in picked]
    paragraphs = [" ".join(varied[i : i + 4]) for i in range(0, len(varied), 4)]
    return f"Bulletin {index}: {_name(rng)} {_name(rng)}\n\n" + "\n\n".join(paragraphs) + "\n"


def make_collection(folder: Path, target_chunks: int, seed: int = 7,
                    sentences_per_article: int = 24) -> int:
    """Write articles into `folder` until they make about `target_chunks` chunks; returns the
    exact chunk count (with the default chunking)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pools = corpus_sentences()
    languages = sorted(pools)
    total, index = 0, 0
    while total < target_chunks:
        pool = pools[languages[index % len(languages)]]
        path = folder / f"bulletin-{index:06d}.txt"
        path.write_text(article(rng, pool, sentences_per_article, index), encoding="utf-8")
        total += len(chunk_document(load_file(path)))
        index += 1
    return total


def extra_document(folder: Path, seed: int = 99) -> Path:
    """One more article, for the add-one-document measurement."""
    rng = random.Random(seed)
    pools = corpus_sentences()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "late-bulletin.txt"
    path.write_text(article(rng, pools[sorted(pools)[0]], 24, 999_999), encoding="utf-8")
    return path
