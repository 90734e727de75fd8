"""The vector store's defaults, in a module that imports nothing: the configuration
(`assistant.settings`) reads them without loading Chroma, numpy or a model."""

from __future__ import annotations

DEFAULT_CHUNK_TOKENS = 200
DEFAULT_OVERLAP_TOKENS = 40
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # the largest file ingest reads
AUTO = "auto"
DEFAULT_EMBEDDING = AUTO  # the settings default too: a store built by hand opens the same collection
# Reciprocal rank fusion constant. The classic 60 was tuned for fusing deep rank lists of many
# systems; we fuse three lists and show the top 5, where agreement at the very top matters most.
# A small constant lets a chunk ranked first by one retriever stay in the top results.
RRF_K = 2
