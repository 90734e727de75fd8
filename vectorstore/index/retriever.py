"""Kenbron's hybrid search as a LangChain retriever, for composing into other chains.

Each `Document` is one chunk; its metadata carries what a citation needs: `source`, `title`,
`chunk_id`, `language`, the fused `score` and `rank`, and `start`/`end`, the chunk's character
span in its source document. The knowledge base is passed in (as `langchain_chroma.Chroma` takes
its client), so the retriever reads no configuration of its own.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, field_validator

from vectorstore.documents import ScoredChunk


def to_document(hit: ScoredChunk) -> Document:
    c = hit.chunk
    return Document(page_content=c.text, id=c.chunk_id, metadata={
        "source": c.source_id, "title": c.title, "chunk_id": c.chunk_id, "language": c.language,
        "score": hit.score, "rank": hit.rank, "start": c.start, "end": c.end, "date": c.date})


class KenbronRetriever(BaseRetriever):
    """`knowledge_base.search(query, k)` (dense + sentence + BM25, fused) as a `BaseRetriever`.

    `k` may also be given per call: ``retriever.invoke("vraag", k=3)``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    knowledge_base: Any
    k: int = 5

    @field_validator("k")
    @classmethod
    def _k_positive(cls, k: int) -> int:
        if k <= 0:
            raise ValueError("k must be greater than 0")
        return k

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None) -> list[Document]:
        if k is not None and k <= 0:
            raise ValueError("k must be greater than 0")
        return [to_document(hit) for hit in self.knowledge_base.search(query, k or self.k)]
