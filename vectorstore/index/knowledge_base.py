"""The knowledge base: a Chroma chunk store and a BM25 index kept in step, searched together.

The lexical index is a local cache of what Chroma holds. It is keyed to the store's registry
generation: whenever another process (a CLI ingest, another app replica on the same Chroma
server) publishes or removes a document, the next search notices the new generation and patches
the index document by document — it never serves chunks Chroma no longer has, and never needs a
full rebuild for a small change.

A little over 300 lines: ingest, search (three rankings fused) and removal share the locks and
the generation bookkeeping that keep Chroma and BM25 in step.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from vectorstore.defaults import AUTO, DEFAULT_COLLECTION, DEFAULT_EMBEDDING, DEFAULT_MAX_BYTES, RRF_K
from vectorstore.documents import Chunk, ScoredChunk
from vectorstore.index.embeddings import make_embeddings, resolve_embedding
from vectorstore.index.ingest import ChunkingConfig, IngestReport, ProgressFn, ingest_paths
from vectorstore.index.lexical import BM25Index, analyse_query
from vectorstore.index.store import (
    ChunkStore,
    DocumentRecord,
    StoreError,
    collection_names,
    open_client,
    recorded_embedding,
)
from vectorstore.language import detect_question_language

log = logging.getLogger(__name__)

_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kenbron-search")


@dataclass(frozen=True)
class StoreConfig:
    data_dir: Path
    collection: str = DEFAULT_COLLECTION
    chroma_host: str | None = None
    chroma_port: int = 8000
    embedding: str = DEFAULT_EMBEDDING
    chunking: ChunkingConfig = ChunkingConfig()
    max_file_bytes: int = DEFAULT_MAX_BYTES
    rrf_k: int = RRF_K
    embedding_model_dir: Path | None = None  # where a downloaded embedding model lives (gemma)
    embedding_runtime: str = AUTO  # what runs gemma (`gemma_runtime`)


class KnowledgeBase:
    """Ingest, list, remove and search documents. Thread-safe for concurrent searches."""

    def __init__(self, config: StoreConfig, embeddings: Embeddings | None = None,
                 client=None) -> None:
        self.config = config
        client = client or open_client(config.data_dir, config.chroma_host, config.chroma_port)
        if embeddings is None:
            name = resolve_embedding(config.embedding, recorded_embedding(client, config.collection),
                                     config.embedding_model_dir)
            embeddings = make_embeddings(name, model_dir=config.embedding_model_dir,
                                         runtime=config.embedding_runtime)
        self.embeddings = embeddings
        self.store = ChunkStore(client, config.collection, self.embeddings)
        where = (f"{config.chroma_host}:{config.chroma_port}" if config.chroma_host
                 else str(config.data_dir.resolve()))
        self.location = (f"the Chroma server at {where}" if config.chroma_host
                         else f"the vector store in {where}")
        key = hashlib.sha1(f"{where}|{config.collection}".encode()).hexdigest()[:12]
        self._lexical_path = config.data_dir / "lexical" / f"{config.collection}-{key}.pkl"
        self._originals = config.data_dir / "originals" / f"{config.collection}-{key}"
        self._lock = threading.RLock()  # guards the lexical index
        self._ingest_lock = threading.Lock()
        # search, then best_sentences for the same question: embed the question once
        self._embed_query = lru_cache(maxsize=64)(self.embeddings.embed_query)
        self._lexical: BM25Index | None = None
        self._lexical_generation: str | None = None

    # --- documents ---------------------------------------------------------------------------

    @property
    def embedding(self) -> str:
        """The name of the embedding model in use (what `auto` resolved to)."""
        return self.store.embedding

    def ingest(self, paths, progress: ProgressFn | None = None,
               replace: bool = False) -> IngestReport:
        # one ingest at a time; searches go on meanwhile and see each document once published
        with self._ingest_lock:
            report = ingest_paths(self.store, paths, self.config.chunking, progress,
                                  self.config.max_file_bytes, replace)
            self.sync_lexical()
            self._sync_originals(report.added + report.updated)
            return report

    def documents(self) -> list[DocumentRecord]:
        return sorted(self.store.documents().values(), key=lambda d: d.source_id)

    # --- collections -------------------------------------------------------------------------

    def collections(self) -> list[str]:
        """Every collection of this store, this one included once it exists."""
        return collection_names(self.store.client)

    def sibling(self, collection: str) -> KnowledgeBase:
        """The knowledge base of another collection of the same store, sharing this one's
        embedder and Chroma client (it is created, empty, when it does not exist)."""
        return KnowledgeBase(replace(self.config, collection=collection), self.embeddings,
                             self.store.client)

    def document_text(self, source_id: str) -> str | None:
        return self.store.document_text(source_id)

    def remove(self, source_id: str) -> int:
        """Remove a document and all its chunks; raises KeyError if it is not ingested."""
        with self._ingest_lock:
            if source_id not in self.store.documents():
                raise KeyError(source_id)
            removed = self.store.remove(source_id)
            self.sync_lexical()
            self._sync_originals()
            return removed

    # --- kept PDFs ---------------------------------------------------------------------------

    def original(self, source_id: str) -> Path | None:
        """The kept copy of an ingested PDF, from which a cited page is shown as printed; None
        for other formats and for PDFs ingested before copies were kept."""
        doc = self.store.documents().get(source_id)
        if doc is None or doc.format != "pdf":
            return None
        path = self._originals / f"{doc.doc_hash}.pdf"
        return path if path.is_file() else None

    def _sync_originals(self, new: Iterable[str] = ()) -> None:
        """Copy the PDFs just ingested (uploads come from a temporary folder) and delete the
        copies no published document needs any more. A copy that fails costs only its page
        pictures, so it is logged, not raised."""
        docs = self.store.documents()
        wanted = {d.doc_hash for d in docs.values() if d.format == "pdf"}
        for sid in new:
            doc = docs.get(sid)
            target = self._originals / f"{doc.doc_hash}.pdf" if doc else None
            if doc is None or doc.format != "pdf" or not doc.path or target.is_file():
                continue
            try:
                self._originals.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".part")
                shutil.copyfile(doc.path, partial)
                partial.replace(target)
            except OSError as exc:
                log.warning("could not keep a copy of %s for page pictures: %s", sid, exc)
        if self._originals.is_dir():
            for kept in self._originals.glob("*.pdf"):
                if kept.stem not in wanted:
                    kept.unlink(missing_ok=True)

    # --- lexical index sync ------------------------------------------------------------------

    def _lexical_index(self) -> BM25Index:
        if self._lexical is None:
            self._lexical = BM25Index.load(self._lexical_path) or BM25Index()
            self._lexical_generation = getattr(self._lexical, "generation", None)
        return self._lexical

    def sync_lexical(self, generation: str | None = None) -> bool:
        """Bring the BM25 index in line with the published documents; True if it changed.

        `generation` is the registry generation if the caller has just read it."""
        with self._lock:
            index = self._lexical_index()
            generation = self.store.generation() if generation is None else generation
            if generation == self._lexical_generation and generation:
                return False
            # a search that read the generation before a concurrent ingest published must not
            # take the index back to that older state: sync to what is published now
            generation = self.store.generation()
            if generation == self._lexical_generation and generation:
                return False
            docs = self.store.documents(generation)
            changed = False
            for sid, doc_hash in list(index.versions.items()):
                if sid not in docs or docs[sid].doc_hash != doc_hash:
                    index.remove_document(sid)
                    changed = True
            missing = {sid: d for sid, d in docs.items() if index.versions.get(sid) != d.doc_hash}
            for sid, chunks in self._fetch_chunks(missing, full_scan=not index.versions).items():
                index.add_document(sid, missing[sid].doc_hash,
                                   [(c.chunk_id, c.text, c.language) for c in chunks])
                changed = True
            index.generation = generation  # type: ignore[attr-defined]
            self._lexical_generation = generation
            if changed or not self._lexical_path.exists():
                index.save(self._lexical_path)
            return changed

    def _fetch_chunks(self, docs: dict[str, DocumentRecord],
                      full_scan: bool) -> dict[str, list[Chunk]]:
        if not full_scan or len(docs) <= 32:
            return {sid: self.store.chunks_of(sid, d.doc_hash) for sid, d in docs.items()}
        # building from nothing (first start, a new replica): one paged scan beats N queries
        grouped: dict[str, list[Chunk]] = defaultdict(list)
        page, offset = 5000, 0
        while True:
            got = self.store.chunks.get(include=["documents", "metadatas"], limit=page,
                                        offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"],
                                       strict=True):
                sid = str(meta.get("source_id"))
                if sid in docs and docs[sid].doc_hash == meta.get("doc_hash"):
                    grouped[sid].append(Chunk.from_metadata(cid, text, meta))
            if len(got["ids"]) < page:
                break
            offset += page
        return {sid: sorted(cs, key=lambda c: c.position) for sid, cs in grouped.items()}

    # --- search ------------------------------------------------------------------------------

    def dense(self, query: str, n: int) -> list[ScoredChunk]:
        return self._scored(self.store.nearest_chunks(self._embed_query(query), n), "dense")

    def lexical(self, query: str, n: int, language: str | None = None) -> list[ScoredChunk]:
        self.sync_lexical()
        return self._scored(self._lexical_ids(query, n, language), "bm25")

    def best_sentences(self, query: str, hits: list[ScoredChunk], n: int = 12
                       ) -> list[tuple[str, str, float]]:
        """The stored sentences of `hits` most similar to `query`: (text, chunk id, cosine)."""
        vector = self._embed_query(query)
        return self.store.sentences_in(vector, [h.chunk.chunk_id for h in hits], n)

    def _lexical_ids(self, query: str, n: int, language: str | None) -> dict[str, float]:
        """BM25 ranking from the in-memory index (callers sync it with the store first)."""
        terms = analyse_query(query, language or detect_question_language(query))
        with self._lock:
            return dict(self._lexical_index().search(terms, n))

    def _scored(self, hits: dict[str, float], name: str) -> list[ScoredChunk]:
        chunks = self.store.get_chunks(hits)
        return [ScoredChunk(chunks[cid], score, rank=i + 1, ranks={name: i + 1},
                            scores={name: score})
                for i, (cid, score) in enumerate(hits.items()) if cid in chunks]

    def search(self, query: str, k: int = 5, language: str | None = None,
               extra_queries: list[str] | None = None) -> list[ScoredChunk]:
        """Hybrid search: dense and BM25 rankings fused by reciprocal rank fusion.

        `extra_queries` (e.g. translations of the question into the corpus languages) add their
        own dense and lexical rankings to the fusion. Rankings are fused on chunk ids; only the
        k winners are fetched from Chroma, in one call.
        """
        query = query.strip()
        if not query:
            raise ValueError("the question is empty")
        try:
            return self._search(query, k, language, extra_queries or [])
        except StoreError:
            raise
        except Exception as exc:  # a Chroma server gone away, a broken store: say which
            raise StoreError(f"cannot search {self.location} ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from exc

    def _search(self, query: str, k: int, language: str | None,
                extra_queries: list[str]) -> list[ScoredChunk]:
        depth = max(30, 4 * k)
        # the registry read (is anything new published?) and both nearest-neighbour searches
        # wait on Chroma, not on Python: run them at the same time, and rank with BM25 while
        # they are under way; filter on published versions when all are in. The pool is FIFO
        # and the registry read is submitted first, so a task waiting for it never waits on a
        # task queued behind it.
        generation = _POOL.submit(self.store.generation)

        def versions() -> frozenset[str]:
            return self.store.published_versions(generation.result())

        rankings: list[tuple[str, dict[str, float]]] = []
        for i, q in enumerate([query, *extra_queries]):
            suffix = "" if i == 0 else f"_{i}"
            vector = self._embed_query(q)
            sentences = _POOL.submit(self.store.nearest_by_sentence, vector, depth, versions)
            dense = _POOL.submit(self.store.nearest_chunks, vector, depth, versions)
            if i == 0:
                self.sync_lexical(generation.result())
            lexical = self._lexical_ids(q, depth, language if i == 0 else None)
            rankings += [
                (f"dense{suffix}", dense.result()),
                (f"bm25{suffix}", lexical),
                (f"sentence{suffix}", sentences.result()),
            ]
        fused = fuse(rankings, k, self.config.rrf_k)
        chunks = self.store.get_chunks(hit.chunk_id for hit in fused)
        out = []
        for hit in fused:
            if hit.chunk_id in chunks:
                out.append(ScoredChunk(chunks[hit.chunk_id], hit.score, len(out) + 1, hit.ranks,
                                       hit.scores))
        return out

@dataclass
class FusedHit:
    chunk_id: str
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


def fuse(rankings: list[tuple[str, dict[str, float]]], k: int, rrf_k: int = RRF_K) -> list[FusedHit]:
    """Reciprocal rank fusion of rankings given as {chunk id: score}, best first:
    score = sum over rankings of 1 / (rrf_k + rank)."""
    fused: dict[str, FusedHit] = {}
    for name, hits in rankings:
        for rank, (chunk_id, score) in enumerate(hits.items(), start=1):
            entry = fused.setdefault(chunk_id, FusedHit(chunk_id))
            entry.score += 1.0 / (rrf_k + rank)
            entry.ranks[name] = rank
            entry.scores[name] = score
    return sorted(fused.values(), key=lambda h: (-h.score, h.chunk_id))[:k]
