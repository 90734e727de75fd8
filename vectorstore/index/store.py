"""The Chroma side: a chunk collection plus a document registry, embedded or on a server.

Chroma has no transactions, so documents are published by a *registry* record that is written
only after all of a document's chunks are stored, and removed before its chunks are deleted.
Readers only trust chunks whose (source, document hash) matches the registry. An ingest that dies
half-way therefore leaves invisible leftovers that the next run reuses or cleans — never a
half-ingested document in search results.

Besides one vector per chunk, every sentence of a chunk gets its own vector in a companion
collection (`<name>_sentences`). A short question often matches one sentence of a long chunk far
better than the chunk as a whole — especially across languages — so dense search also ranks
chunks by their best sentence. Sentence vectors are written before their chunk, so a stored chunk
implies its sentences are stored too.

The chunk collection records the embedding model that filled it; opening it with another model
is refused (`EmbeddingModelMismatch`), so vectors from two models are never mixed.

A little over 300 lines: the chunk collection, the sentence collection and the registry are
written and read under one publication rule, which is easier to check in one place.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import Embeddings

from vectorstore.documents import Chunk, SourceDocument
from vectorstore.index.chunking import ChunkId, version_key
from vectorstore.index.embeddings import embedding_name

_GENERATION_ID = "__generation__"
Versions = frozenset[str] | Callable[[], frozenset[str]]  # published version keys, or a getter
_WRITE_BATCH = 256


class StoreError(RuntimeError):
    """The vector store cannot be used; the message says why and what to do."""


class EmbeddingModelMismatch(StoreError):
    pass


@dataclass(frozen=True)
class DocumentRecord:
    """What the registry knows about one ingested document."""

    source_id: str
    title: str
    language: str
    doc_hash: str
    chunks: int
    format: str
    date: str | None = None
    description: str | None = None
    path: str | None = None
    ingested_at: float = 0.0
    pages: int | None = None  # printed pages (PDF, OCR); None for formats without pages

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source_id, "title": self.title, "language": self.language,
            "date": self.date, "chunks": self.chunks, "pages": self.pages, "format": self.format,
            "doc_hash": self.doc_hash, "description": self.description, "path": self.path,
        }


def open_client(data_dir: Path, chroma_host: str | None = None, chroma_port: int = 8000):
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if chroma_host:
            return chromadb.HttpClient(host=chroma_host, port=chroma_port, settings=settings)
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)
    except Exception as exc:
        where = f"the Chroma server at {chroma_host}:{chroma_port}" if chroma_host else str(data_dir)
        raise StoreError(f"cannot open the vector store at {where}: {exc}") from exc


def collection_names(client: Any) -> list[str]:
    """The Kenbron collections of a store: those with their sentences and registry beside them."""
    try:
        names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    except Exception as exc:
        raise StoreError(f"cannot list the collections: {exc}") from exc
    return sorted(n for n in names if f"{n}_sentences" in names and f"{n}_documents" in names)


def recorded_embedding(client: Any, collection: str) -> str | None:
    """The embedding model that filled `collection`, None when it does not exist yet."""
    try:
        existing = client.get_collection(collection)
    except Exception:  # Chroma raises NotFoundError (or ValueError in older clients)
        return None
    return (existing.metadata or {}).get("kenbron_embedding")


# How many candidates Chroma's HNSW graph keeps while it searches (its default is 100). A search
# asks for up to ~80 neighbours (`_nearest`), so at 100 the graph walk is approximate, and it
# returned a different neighbour now and then for the same vector in another process: retrieval
# varied run to run. At 400 the same query gives the same neighbours in every process (checked
# over the realdocs dev set's questions); a whole retrieval on the realdocs store takes ~30 ms
# longer (p50 125 -> 152-160 ms, as the README says). Quality moved by one question each way
# (README, "Real documents"): kept for repeatability, not for a gain.
HNSW_EF_SEARCH = 400
_HNSW = {"space": "cosine", "ef_search": HNSW_EF_SEARCH}


class ChunkStore:
    """Chunks and their document registry in Chroma, behind a small typed API."""

    def __init__(self, client: Any, collection: str, embeddings: Embeddings) -> None:
        self.client = client
        self.embeddings = embeddings
        self.embedding = embedding_name(embeddings)
        self.name = collection
        try:
            self.chunks = client.get_or_create_collection(
                collection,
                metadata={"kenbron_embedding": self.embedding, "kenbron_schema": 1},
                configuration={"hnsw": _HNSW},
                embedding_function=None,
            )
            self.sentences = client.get_or_create_collection(
                f"{collection}_sentences",
                metadata={"kenbron_embedding": self.embedding, "kenbron_schema": 1},
                configuration={"hnsw": _HNSW},
                embedding_function=None,
            )
            self.registry = client.get_or_create_collection(
                f"{collection}_documents", metadata={"kenbron_schema": 1}, embedding_function=None
            )
            for vectors in (self.chunks, self.sentences):  # stores made before the setting
                # the JSON, not `.configuration`: that warns of the "legacy" (absent) embedding
                # function, which is on purpose: Kenbron embeds, Chroma only stores
                hnsw = (vectors.configuration_json or {}).get("hnsw") or {}
                if hnsw.get("ef_search", 0) < HNSW_EF_SEARCH:
                    vectors.modify(configuration={"hnsw": {"ef_search": HNSW_EF_SEARCH}})
        except Exception as exc:
            raise StoreError(f"cannot open collection {collection!r}: {exc}") from exc
        recorded = (self.chunks.metadata or {}).get("kenbron_embedding")
        if recorded != self.embedding:
            raise EmbeddingModelMismatch(
                f"collection {collection!r} was filled with embedding model {recorded!r}, but "
                f"the configured model is {self.embedding!r}; vectors of different models cannot "
                f"be mixed. Set KENBRON_EMBEDDING={recorded} (or --embedding {recorded}), or use "
                "another collection (KENBRON_COLLECTION) or data directory and ingest again."
            )
        self._registry_cache: tuple[str, dict[str, DocumentRecord], frozenset[str]] | None = None

    # --- registry ----------------------------------------------------------------------------

    def generation(self) -> str:
        """A token that changes whenever any document is published or removed."""
        got = self.registry.get(ids=[_GENERATION_ID], include=["documents"])
        return got["documents"][0] if got["ids"] else ""

    def _bump_generation(self) -> None:
        self.registry.upsert(ids=[_GENERATION_ID], embeddings=[[1.0]],
                             documents=[uuid.uuid4().hex], metadatas=[{"kind": "generation"}])

    def documents(self, generation: str | None = None) -> dict[str, DocumentRecord]:
        """Published documents by source id (cached until the generation changes; pass the
        generation if it has just been read)."""
        return self._registry(generation)[1]

    def published_versions(self, generation: str | None = None) -> frozenset[str]:
        """Version keys (chunk id prefixes) of the published documents."""
        return self._registry(generation)[2]

    def _registry(self, generation: str | None) -> tuple[str, dict[str, DocumentRecord], frozenset[str]]:
        gen = self.generation() if generation is None else generation
        if self._registry_cache and self._registry_cache[0] == gen and gen:
            return self._registry_cache
        got = self.registry.get(include=["metadatas"])
        docs = {}
        for rid, meta in zip(got["ids"], got["metadatas"], strict=True):
            if rid == _GENERATION_ID or not meta:
                continue
            docs[rid] = _record_from_meta(rid, meta)
        versions = frozenset(version_key(d.source_id, d.doc_hash) for d in docs.values())
        found = (gen, docs, versions)
        # kept only if nothing was published meanwhile: a generation read before a concurrent
        # publish must never label the registry read after it (nor the reverse)
        if gen and self.generation() == gen:
            self._registry_cache = found
        return found

    def document_text(self, source_id: str) -> str | None:
        got = self.registry.get(ids=[source_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    # --- writing -----------------------------------------------------------------------------

    def existing_chunk_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _WRITE_BATCH):
            found.update(self.chunks.get(ids=ids[i : i + _WRITE_BATCH], include=[])["ids"])
        return found

    def write_chunks(self, chunks: list[Chunk], vectors: list[list[float]],
                     sentences: list[tuple[str, Chunk]] = (),
                     sentence_vectors: list[list[float]] = ()) -> None:
        """Store chunks; their sentences (text, parent chunk) first, see module docstring."""
        for i in range(0, len(sentences), _WRITE_BATCH):
            batch = sentences[i : i + _WRITE_BATCH]
            self.sentences.upsert(
                ids=[str(ChunkId.parse(c.chunk_id)._replace(sentence=n))
                     for n, (_, c) in enumerate(batch, start=i)],
                embeddings=sentence_vectors[i : i + _WRITE_BATCH],
                documents=[text for text, _ in batch],
                metadatas=[{"chunk_id": c.chunk_id, "source_id": c.source_id,
                            "doc_hash": c.doc_hash} for _, c in batch],
            )
        for i in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[i : i + _WRITE_BATCH]
            self.chunks.upsert(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors[i : i + _WRITE_BATCH],
                documents=[c.text for c in batch],
                metadatas=[c.metadata() for c in batch],
            )

    def publish(self, docs: list[tuple[SourceDocument, int]]) -> None:
        """Make fully written documents (with their chunk counts) visible, then drop chunks of
        their older versions."""
        if not docs:
            return
        metas = []
        for doc, n_chunks in docs:
            meta = {
                "title": doc.title, "language": doc.language, "doc_hash": doc.doc_hash,
                "chunks": n_chunks, "format": doc.format, "ingested_at": time.time(),
                "date": doc.date, "description": doc.description, "path": doc.path,
                "pages": len(doc.pages) or None,
            }
            metas.append({k: v for k, v in meta.items() if v is not None})
        for i in range(0, len(docs), _WRITE_BATCH):
            part = docs[i : i + _WRITE_BATCH]
            self.registry.upsert(
                ids=[doc.source_id for doc, _ in part], embeddings=[[1.0]] * len(part),
                documents=[doc.text for doc, _ in part], metadatas=metas[i : i + _WRITE_BATCH])
        self._bump_generation()
        for i in range(0, len(docs), _WRITE_BATCH):
            part = [doc for doc, _ in docs[i : i + _WRITE_BATCH]]
            stale = {"$and": [{"source_id": {"$in": [d.source_id for d in part]}},
                              {"doc_hash": {"$nin": [d.doc_hash for d in part]}}]}
            self.chunks.delete(where=stale)
            self.sentences.delete(where=stale)

    def remove(self, source_id: str) -> int:
        """Unpublish a document and delete all its chunks; returns how many chunks went."""
        self.registry.delete(ids=[source_id])
        self._bump_generation()
        got = self.chunks.get(where={"source_id": source_id}, include=[])
        if got["ids"]:
            self.chunks.delete(ids=got["ids"])
        self.sentences.delete(where={"source_id": source_id})
        return len(got["ids"])

    # --- reading -----------------------------------------------------------------------------

    def chunk_count(self) -> int:
        return self.chunks.count()

    def chunks_of(self, source_id: str, doc_hash: str | None = None) -> list[Chunk]:
        where: dict[str, Any] = {"source_id": source_id}
        if doc_hash:
            where = {"$and": [where, {"doc_hash": doc_hash}]}
        got = self.chunks.get(where=where, include=["documents", "metadatas"])
        chunks = [Chunk.from_metadata(i, t, m) for i, t, m in
                  zip(got["ids"], got["documents"], got["metadatas"], strict=True)]
        return sorted(chunks, key=lambda c: c.position)

    def get_chunks(self, ids: Iterable[str]) -> dict[str, Chunk]:
        ids = list(ids)
        if not ids:
            return {}
        got = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        return {i: Chunk.from_metadata(i, t, m) for i, t, m in
                zip(got["ids"], got["documents"], got["metadatas"], strict=True)}

    def nearest_chunks(self, vector: list[float], n: int,
                       versions: Versions | None = None) -> dict[str, float]:
        """Nearest published chunks: chunk id -> cosine similarity, best first."""
        return self._nearest(self.chunks, vector, n, versions)

    def nearest_by_sentence(self, vector: list[float], n: int,
                            versions: Versions | None = None) -> dict[str, float]:
        """Published chunks ranked by their most similar sentence: chunk id -> cosine, best first."""
        return self._nearest(self.sentences, vector, n, versions)

    def sentences_in(self, vector: list[float], chunk_ids: list[str], n: int
                     ) -> list[tuple[str, str, float]]:
        """(sentence, chunk id, similarity) of the n sentences of `chunk_ids` nearest `vector`."""
        if not chunk_ids:
            return []
        res = self.sentences.query(query_embeddings=[vector], n_results=n,
                                   where={"chunk_id": {"$in": list(chunk_ids)}},
                                   include=["documents", "metadatas", "distances"])
        return [(text, str(meta["chunk_id"]), 1.0 - float(dist)) for text, meta, dist in
                zip(res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True)]

    def _nearest(self, collection: Any, vector: list[float], n: int,
                 versions: Versions | None = None) -> dict[str, float]:
        """Best similarity per chunk over published entries, n chunks, best first.

        Only distances are fetched: ids say which chunk (a sentence id is its chunk's id plus
        `.sN`) and which document version (the id prefix) an entry belongs to, and fetching
        metadata costs more than the nearest-neighbour search itself. `versions` may be a
        function, called once the query is answered, so that the caller can read the registry
        at the same time as Chroma searches.
        """
        versions = versions or self.published_versions
        fetch = 2 * n + 16
        while True:
            res = collection.query(query_embeddings=[vector], n_results=fetch, include=["distances"])
            ids, distances = res["ids"][0], res["distances"][0]
            published = versions() if callable(versions) else versions
            best: dict[str, float] = {}
            for rid, dist in zip(ids, distances, strict=True):
                parsed = ChunkId.parse(rid)
                if parsed.version in published:
                    best.setdefault(parsed.chunk, 1.0 - float(dist))  # results come best first
            # unpublished leftovers or sibling sentences took slots: widen until n are found
            if len(best) >= n or len(ids) < fetch:
                return dict(list(best.items())[:n])
            fetch *= 2


def _record_from_meta(source_id: str, meta: dict[str, Any]) -> DocumentRecord:
    return DocumentRecord(
        source_id=source_id,
        title=str(meta.get("title", source_id)),
        language=str(meta.get("language", "")),
        doc_hash=str(meta.get("doc_hash", "")),
        chunks=int(meta.get("chunks", 0)),
        format=str(meta.get("format", "")),
        date=meta.get("date"),
        description=meta.get("description"),
        path=meta.get("path"),
        ingested_at=float(meta.get("ingested_at", 0.0)),
        pages=meta.get("pages"),
    )
