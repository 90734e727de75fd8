"""Multilingual BM25: per-language stop words and Snowball stemming, updated incrementally.

Documents are analysed in their own language. A query is analysed once per corpus language
(its own stop words removed, then stemmed by each language's stemmer), so an English question
still meets Dutch or French text on shared names, numbers and cognates.

The index is an inverted index scored with Okapi BM25 at query time rather than a precomputed
score matrix (as `bm25s` builds): adding or removing one document then touches only its own
postings, never the whole index, which matters when a 100k-chunk collection grows by one file.
"""

from __future__ import annotations

import math
import pickle
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
from bm25s import stopwords as bm25s_stopwords

from vectorstore.language import SUPPORTED_LANGUAGES
from vectorstore.text import normalise, snowball

_STOPWORDS = {
    "en": bm25s_stopwords.STOPWORDS_EN, "nl": bm25s_stopwords.STOPWORDS_DUTCH,
    "fr": bm25s_stopwords.STOPWORDS_FRENCH, "de": bm25s_stopwords.STOPWORDS_GERMAN,
    "es": bm25s_stopwords.STOPWORDS_SPANISH, "it": bm25s_stopwords.STOPWORDS_ITALIAN,
    "pt": bm25s_stopwords.STOPWORDS_PORTUGUESE,
}
_WORD = re.compile(r"\w+", re.UNICODE)
_ELISION = re.compile(r"\b[cdjlmnst]['’]", re.I)  # French l', d', qu' … glued to the next word


def _normalise(text: str) -> str:
    text = normalise(text)
    return _ELISION.sub(" ", text.replace("qu'", " ").replace("qu’", " "))


@lru_cache(maxsize=16)
def _stopword_set(language: str) -> frozenset[str]:
    return frozenset(_STOPWORDS.get(language, ()))


def analyse(text: str, language: str) -> list[str]:
    """Tokens of a document in `language`: lower-cased, stop words dropped, stemmed."""
    stop = _stopword_set(language)
    words = [w for w in _WORD.findall(_normalise(text)) if w not in stop]
    stemmer = snowball(language)
    return stemmer.stemWords(words) if stemmer else words


def analyse_query(text: str, language: str, languages: Iterable[str] = SUPPORTED_LANGUAGES) -> list[str]:
    """Query terms: the question's stop words dropped, each word stemmed in every corpus language."""
    stop = _stopword_set(language)
    words = [w for w in _WORD.findall(_normalise(text)) if w not in stop]
    terms: dict[str, None] = {}
    for lang in dict.fromkeys([language, *languages]):
        stemmer = snowball(lang)
        for term in stemmer.stemWords(words) if stemmer else words:
            terms[term] = None
    return list(terms)


class BM25Index:
    """Okapi BM25 over chunks, grouped by source document so a document can be swapped whole."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.chunk_ids: list[str] = []
        self.lengths: list[int] = []
        self.alive: list[bool] = []
        self.postings: dict[str, tuple[list[int], list[int]]] = {}
        self.by_source: dict[str, list[int]] = {}
        self.versions: dict[str, str] = {}  # source id -> doc hash the postings were built from
        self._live_count = 0
        self._live_length = 0
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._alive_array: np.ndarray | None = None
        self._length_array: np.ndarray | None = None

    def __len__(self) -> int:
        return self._live_count

    def add_document(self, source_id: str, doc_hash: str,
                     chunks: Iterable[tuple[str, str, str]]) -> None:
        """Index a document's chunks, given as (chunk_id, text, language); replaces older ones."""
        self.remove_document(source_id)
        indices = []
        for chunk_id, text, language in chunks:
            idx = len(self.chunk_ids)
            tokens = analyse(text, language)
            self.chunk_ids.append(chunk_id)
            self.lengths.append(len(tokens))
            self.alive.append(True)
            for term, tf in Counter(tokens).items():
                docs, tfs = self.postings.setdefault(term, ([], []))
                docs.append(idx)
                tfs.append(tf)
                self._arrays.pop(term, None)
            self._live_count += 1
            self._live_length += len(tokens)
            indices.append(idx)
        self.by_source[source_id] = indices
        self.versions[source_id] = doc_hash
        self._alive_array = self._length_array = None

    def remove_document(self, source_id: str) -> None:
        for idx in self.by_source.pop(source_id, []):
            if self.alive[idx]:
                self.alive[idx] = False
                self._live_count -= 1
                self._live_length -= self.lengths[idx]
        self.versions.pop(source_id, None)
        self._alive_array = None
        if len(self.alive) > 1000 and self._live_count < len(self.alive) // 2:
            self._compact()

    def search(self, terms: list[str], k: int) -> list[tuple[str, float]]:
        if not terms or not self._live_count:
            return []
        if self._alive_array is None:
            self._alive_array = np.asarray(self.alive, dtype=bool)
        if self._length_array is None:
            self._length_array = np.asarray(self.lengths, dtype=np.float32)
        n = self._live_count
        avgdl = max(self._live_length / n, 1.0)
        scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
        for term in set(terms):
            posting = self._posting(term)
            if posting is None:
                continue
            docs, tfs = posting
            live = self._alive_array[docs]
            docs, tfs = docs[live], tfs[live]
            df = len(docs)
            if not df:
                continue
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            norm = self.k1 * (1.0 - self.b + self.b * self._length_array[docs] / avgdl)
            scores[docs] += idf * tfs * (self.k1 + 1.0) / (tfs + norm)
        hits = np.flatnonzero(scores > 0)
        if not len(hits):
            return []
        top = hits[np.argsort(-scores[hits], kind="stable")[:k]]
        return [(self.chunk_ids[i], float(scores[i])) for i in top]

    def _posting(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        cached = self._arrays.get(term)
        if cached is None:
            raw = self.postings.get(term)
            if raw is None:
                return None
            cached = (np.asarray(raw[0], dtype=np.int64), np.asarray(raw[1], dtype=np.float32))
            self._arrays[term] = cached
        return cached

    def _compact(self) -> None:
        """Drop removed chunks' slots once they are the majority (keeps memory proportional)."""
        remap = {old: new for new, old in enumerate(i for i, a in enumerate(self.alive) if a)}
        self.chunk_ids = [self.chunk_ids[o] for o in remap]
        self.lengths = [self.lengths[o] for o in remap]
        self.alive = [True] * len(remap)
        postings = {}
        for term, (docs, tfs) in self.postings.items():
            kept = [(remap[d], t) for d, t in zip(docs, tfs, strict=True) if d in remap]
            if kept:
                postings[term] = ([d for d, _ in kept], [t for _, t in kept])
        self.postings = postings
        self.by_source = {s: [remap[i] for i in idx if i in remap] for s, idx in self.by_source.items()}
        self._arrays.clear()
        self._alive_array = self._length_array = None

    # --- persistence -------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_arrays")}
        state["_alive_array"] = state["_length_array"] = None
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)  # atomic: a crash leaves the previous index, never half of one

    @classmethod
    def load(cls, path: Path) -> BM25Index | None:
        try:
            with path.open("rb") as fh:
                state = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return None
        index = cls()
        index.__dict__.update(state)
        index._arrays = {}
        return index
