"""Indexing and searching: chunks, their embeddings (EmbeddingGemma and its per-CPU runtime),
the Chroma store, BM25, fusion and the `KnowledgeBase` over them."""
