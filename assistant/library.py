"""Collections: separate sets of documents in one store, each asked on its own.

A user keeps a product's manuals apart from the news, or one client's reports from another's:
a question is answered from one collection only, and an upload goes to one. `Library` holds one
`Assistant` per collection, made on first use from the first one (`Assistant.for_collection`):
they share its chat model (one local model worker), its embedders and its Chroma client, so a
collection costs its own index and nothing else.
"""

from __future__ import annotations

import threading

from assistant.pipeline.chain import Assistant
from vectorstore.defaults import collection_name_problem


class CollectionError(ValueError):
    """A collection that cannot be created or does not exist; `reason` names which rule, `name`
    the collection (the app says it in the visitor's language)."""

    def __init__(self, reason: str, name: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "collection_name_rule", "collection_exists" or "unknown_collection"
        self.name = name


class Library:
    """Every collection of the store the first assistant opened (its settings' collection is the
    default one). Thread-safe."""

    def __init__(self, first: Assistant) -> None:
        self.first = first
        self.default = first.settings.collection
        self._assistants: dict[str, Assistant] = {self.default: first}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """The default collection first, then every other in the store, by name."""
        others = set(self.first.kb.collections()) | set(self._assistants)
        return [self.default, *sorted(others - {self.default})]

    def get(self, name: str | None = None) -> Assistant:
        """The assistant of collection `name` (the default one for None or "")."""
        name = name or self.default
        with self._lock:
            if name in self._assistants:
                return self._assistants[name]
        if name not in self.names():
            raise CollectionError("unknown_collection", name, f"there is no collection {name!r}")
        return self._open(name)

    def create(self, name: str) -> Assistant:
        """A new, empty collection called `name`, and its assistant."""
        name = (name or "").strip()
        problem = collection_name_problem(name)
        if problem:
            raise CollectionError("collection_name_rule", name, problem)
        if name in self.names():
            raise CollectionError("collection_exists", name, f"a collection {name!r} exists already")
        return self._open(name)

    def _open(self, name: str) -> Assistant:
        with self._lock:
            if name not in self._assistants:
                self._assistants[name] = self.first.for_collection(name)
            return self._assistants[name]
