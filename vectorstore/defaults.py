"""The vector store's defaults, in a module that imports nothing: the configuration
(`assistant.settings`) reads them without loading Chroma, numpy or a model."""

from __future__ import annotations

import re

DEFAULT_CHUNK_TOKENS = 200
DEFAULT_OVERLAP_TOKENS = 40
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # the largest file ingest reads
AUTO = "auto"
DEFAULT_EMBEDDING = AUTO  # the settings default too: a store built by hand opens the same collection
# Reciprocal rank fusion constant. The classic 60 was tuned for fusing deep rank lists of many
# systems; we fuse three lists and show the top 5, where agreement at the very top matters most.
# A small constant lets a chunk ranked first by one retriever stay in the top results.
RRF_K = 2

DEFAULT_COLLECTION = "kenbron"
# what Chroma accepts as a name, with room for the two collections a Kenbron collection adds
# ("NAME_sentences", "NAME_documents") and names that cannot be mistaken for those
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{1,58})[A-Za-z0-9]")
_TAKEN_SUFFIXES = ("_sentences", "_documents")


def collection_name_problem(name: str) -> str | None:
    """Why `name` cannot name a collection, or None when it can."""
    if not _COLLECTION_NAME.fullmatch(name or "") or ".." in name:
        return ("a collection name has 3 to 60 letters, digits, dots, hyphens or underscores, and "
                "starts and ends with a letter or digit")
    if name.endswith(_TAKEN_SUFFIXES):
        return f"a collection name cannot end in {' or '.join(_TAKEN_SUFFIXES)}"
    return None
