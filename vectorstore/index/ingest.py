"""From paths on disk to published documents: load, chunk, embed, store, index.

Each document is handled on its own: a rejected or failing file is reported and the run goes on.
Unchanged documents are skipped before anything is embedded; chunks already stored by an earlier,
interrupted run of the same document version are reused rather than embedded again.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.embeddings import Embeddings

from vectorstore.defaults import DEFAULT_CHUNK_TOKENS, DEFAULT_MAX_BYTES, DEFAULT_OVERLAP_TOKENS
from vectorstore.documents import SECTION_SEPARATOR, Chunk, SourceDocument
from vectorstore.index.chunking import chunk_document, sentence_spans
from vectorstore.index.store import ChunkStore, DocumentRecord
from vectorstore.readers.loaders import SUPPORTED_SUFFIXES, RejectedFile, load_file

WRITE_BATCH_CHUNKS = 256  # chunks embedded and written per Chroma call (see BatchWriter)
READ_AHEAD_FILES = 2  # files parsed ahead of the one being embedded (memory stays a few documents)
# Chunks are embedded in steps sized to take about PROGRESS_SECONDS each, between progress
# reports: larger steps sort more texts by length together (less padding; `docs/decisions.md`,
# `gemma_runtime`), smaller ones keep the progress line moving on a slow CPU.
PROGRESS_SECONDS = 6.0
FIRST_STEP_CHUNKS = 16
ProgressFn = Callable[[str, int, int], None]
"""Called as progress(stage, done, total) where stage is 'files' or 'chunks'."""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_embedded: int = 0
    chunks_reused: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "skipped": self.skipped,
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
            "chunks_embedded": self.chunks_embedded, "chunks_reused": self.chunks_reused,
        }


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int = DEFAULT_CHUNK_TOKENS
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS



def discover(paths: Iterable[Path | str]) -> Iterator[tuple[Path, str, str | None]]:
    """Files to ingest as (path, source id, rejection reason or None).

    A file inside a folder given on the command line gets the path relative to that folder as
    its source id (`a/report.pdf`, `b/report.pdf`), a file named directly its file name.
    Folders are walked recursively (hidden entries skipped); symlinks that lead outside the
    folder being ingested are refused rather than followed, so a link cannot pull in files the
    user did not point at. Files of unsupported types inside folders are skipped silently;
    named explicitly, they are rejected with a reason.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            yield path, path.name, "no such file or folder"
        elif path.is_dir():
            root = path.resolve()
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    file = Path(dirpath) / name
                    if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                        continue
                    source_id = file.relative_to(path).as_posix()
                    if file.is_symlink() and not file.resolve().is_relative_to(root):
                        yield file, source_id, "symbolic link pointing outside the ingested folder; refused"
                        continue
                    yield file, source_id, None
        else:
            yield path, path.name, None


def recorded_id(source_id: str, path: Path, published: dict[str, DocumentRecord]) -> str:
    """The id a file already has in the store: stores written when ids were bare file names keep
    them (a file ingested from a sub-folder as `report.pdf` stays `report.pdf`, not a second
    document `sub/report.pdf`)."""
    if source_id in published:
        return source_id
    old = published.get(path.name)
    if old is not None and old.path and Path(old.path).resolve() == path.resolve():
        return path.name
    return source_id


def ingest_paths(
    store: ChunkStore,
    paths: Iterable[Path | str],
    chunking: ChunkingConfig = ChunkingConfig(),
    progress: ProgressFn | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    replace: bool = False,
) -> IngestReport:
    """Ingest files and folders into `store`; see module docstring for the guarantees.

    A document whose source id is already ingested from another path is refused unless
    `replace` is set, so two different files called `notes.txt` never overwrite each other.
    """
    report = IngestReport()
    files = list(discover(paths))
    published = store.documents()
    seen: dict[str, str] = {}
    writer = BatchWriter(store, report, progress)
    loaded = _read_ahead(files, lambda path, source_id: load_file(
        path, max_bytes=max_bytes, source_id=recorded_id(source_id, path, published)))
    for done, ((path, _, reason), doc) in enumerate(zip(files, loaded, strict=True)):
        if progress:
            progress("files", done, len(files))
        if reason or isinstance(doc, RejectedFile):
            report.rejected.append((str(path), reason or doc.reason))
            continue
        if doc.source_id in seen and seen[doc.source_id] != str(path.resolve()):
            report.rejected.append((str(path), (
                f"another file with the source id {doc.source_id!r} is in this run "
                f"({seen[doc.source_id]}); rename one of them")))
            continue
        seen[doc.source_id] = str(path.resolve())
        existing = published.get(doc.source_id)
        conflict = _name_conflict(existing, doc)
        if conflict and not replace:
            report.rejected.append((str(path), conflict))
            continue
        writer.add(doc, existing, chunking)
    writer.flush()
    if progress:
        progress("files", len(files), len(files))
    return report


def _read_ahead(files: list[tuple[Path, str, str | None]],
                load: Callable[[Path, str], SourceDocument]
                ) -> Iterator[SourceDocument | RejectedFile | None]:
    """Each file's document (or why it was refused; None when `discover` already refused it),
    parsed in a thread a file or two ahead: the next files are read while the model embeds
    the current ones (it holds no lock on Python while it runs). One parser thread at a time,
    as pdfium allows."""
    def attempt(path: Path, source_id: str) -> SourceDocument | RejectedFile:
        try:
            return load(path, source_id)
        except RejectedFile as exc:
            return exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kenbron-read") as pool:
        pending: deque[Future | None] = deque()
        todo = iter(files)
        while True:
            while len(pending) < READ_AHEAD_FILES and (item := next(todo, None)) is not None:
                path, source_id, reason = item
                pending.append(None if reason else pool.submit(attempt, path, source_id))
            if not pending:
                return
            future = pending.popleft()
            yield None if future is None else future.result()


def _name_conflict(existing: DocumentRecord | None, doc: SourceDocument) -> str | None:
    if existing is None or existing.doc_hash == doc.doc_hash or not existing.path:
        return None
    if doc.path and Path(existing.path).resolve() != Path(doc.path).resolve():
        return (f"a different document named {doc.source_id!r} is already ingested from "
                f"{existing.path}; rename this file, remove the other "
                f"(kenbron remove {doc.source_id}), or pass --replace")
    return None


class BatchWriter:
    """Embeds and stores the chunks of several documents together, then publishes them together.

    Each Chroma call has a fixed cost (about 15 ms embedded, a round trip on a server) on top of
    its per-item cost, so writing document by document made small documents several times slower
    to ingest than the writes themselves. A document is still published only after all of its
    chunks are stored, so a crash between batches leaves nothing half-visible.
    """

    def __init__(self, store: ChunkStore, report: IngestReport,
                 progress: ProgressFn | None = None) -> None:
        self.store, self.report, self.progress = store, report, progress
        self.batch_chunks = WRITE_BATCH_CHUNKS
        self.todo: list[Chunk] = []
        self.waiting: list[tuple[SourceDocument, int, str]] = []  # (doc, chunks, outcome)
        self.step = FIRST_STEP_CHUNKS  # chunks per embedding call, see PROGRESS_SECONDS

    def _resize_step(self, chunks: int, seconds: float) -> None:
        if chunks == self.step and seconds > 0:
            wanted = round(chunks * PROGRESS_SECONDS / seconds)
            self.step = max(FIRST_STEP_CHUNKS, min(self.batch_chunks, wanted, 2 * self.step))

    def add(self, doc: SourceDocument, existing: DocumentRecord | None,
            chunking: ChunkingConfig) -> None:
        if existing is not None and existing.doc_hash == doc.doc_hash:
            self.report.skipped.append(doc.source_id)
            return
        chunks = chunk_document(doc, chunking.max_tokens, chunking.overlap_tokens)
        already = self.store.existing_chunk_ids([c.chunk_id for c in chunks])
        self.todo.extend(c for c in chunks if c.chunk_id not in already)
        self.report.chunks_reused += len(already)
        self.waiting.append((doc, len(chunks), "added" if existing is None else "updated"))
        if len(self.todo) >= self.batch_chunks:
            self.flush()

    def flush(self) -> None:
        todo, self.todo = self.todo, []
        for i in range(0, len(todo), self.batch_chunks):
            part = todo[i : i + self.batch_chunks]
            spans = [sentence_spans_worth_a_vector(c) for c in part]
            vectors: list[list[float]] = []
            sentence_vectors: list[list[float]] = []
            known: dict[str, list[float]] = {}
            j = 0
            while j < len(part):
                started = time.perf_counter()
                more, more_sentences = embed_chunks(self.store.embeddings, part[j : j + self.step],
                                                    spans[j : j + self.step], known)
                vectors += more
                sentence_vectors += more_sentences
                j += len(more)
                if self.progress:
                    self.progress("chunks", i + j, len(todo))
                self._resize_step(len(more), time.perf_counter() - started)
            sentences = [(c.text[s:e], c) for c, row in zip(part, spans, strict=True)
                         for s, e in row]
            self.store.write_chunks(part, vectors, sentences, sentence_vectors)
            self.report.chunks_embedded += len(part)
        if self.waiting:
            self.store.publish([(doc, n) for doc, n, _ in self.waiting])
            for doc, _, outcome in self.waiting:
                getattr(self.report, outcome).append(doc.source_id)
            self.waiting = []


def ingest_document(
    store: ChunkStore,
    doc: SourceDocument,
    existing: DocumentRecord | None,
    chunking: ChunkingConfig,
    report: IngestReport,
    progress: ProgressFn | None = None,
) -> None:
    """Store and publish one loaded document (recorded in `report` as added/updated/skipped)."""
    writer = BatchWriter(store, report, progress)
    writer.add(doc, existing, chunking)
    writer.flush()


def sentence_spans_worth_a_vector(chunk: Chunk, min_words: int = 3) -> list[tuple[int, int]]:
    """Where the sentences of a chunk worth a vector of their own are (datelines and stubs are
    not). Short lines count from three words: headings, labels and menu paths are what a
    question names, and leaving out those under 8 words lost retrieval (`docs/decisions.md`:
    `ingest.sentence_spans_worth_a_vector`)."""
    return [(s, e) for s, e in sentence_spans(chunk.text)
            if len(chunk.text[s:e].split()) >= min_words]


def embed_chunks(embeddings: Embeddings, chunks: list[Chunk], spans: list[list[tuple[int, int]]],
                 known: dict[str, list[float]] | None = None
                 ) -> tuple[list[list[float]], list[list[float]]]:
    """Vectors of `chunks` and of their sentences at `spans`, sentences in order.

    Each sentence is embedded as a text of its own: pooling a sentence's token states from the
    chunk's run ("late chunking") halved the tokens read but lost retrieval on both halves of
    the realdocs dev set, and a chunk vector averaged from its sentences lost more
    (`docs/decisions.md`). A sentence already embedded — the overlap shared by neighbouring
    chunks, a page's repeated lines, one in `known` — is embedded once (a fifth of the
    sentences of the realdocs corpus).
    """
    known = {} if known is None else known
    sentences = [c.text[s:e] for c, row in zip(chunks, spans, strict=True) for s, e in row]
    new = [t for t in dict.fromkeys(sentences) if t not in known]
    vectors = embeddings.embed_documents([embedding_text(c) for c in chunks] + new)
    known.update(zip(new, vectors[len(chunks) :], strict=True))
    return vectors[: len(chunks)], [known[t] for t in sentences]


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its document's title and its section path give a passage
    the context a reader has (a manual's paragraph rarely names the tool its section is about)."""
    return f"{context_line(chunk)}\n{chunk.text}"


def context_line(chunk: Chunk) -> str:
    """Title and section path, without the title twice when the top heading repeats it."""
    if not chunk.section or chunk.section == chunk.title:
        return chunk.title
    if chunk.section.startswith(chunk.title):
        return chunk.section
    return f"{chunk.title}{SECTION_SEPARATOR}{chunk.section}"
