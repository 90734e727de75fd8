"""Chat before evaluation: both ask the same model, and a visitor's question must not queue
behind a run of 69 evaluation questions (an hour on two cores)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ChatFirst:
    """Counts the answers being written for people; an evaluation waits, between two of its
    questions, until there are none. A question in flight is never interrupted, so a chat
    question waits at most for one evaluation question."""

    def __init__(self) -> None:
        self._active = 0
        self._changed = threading.Condition()

    @contextmanager
    def chatting(self) -> Iterator[None]:
        with self._changed:
            self._active += 1
        try:
            yield
        finally:
            with self._changed:
                self._active -= 1
                self._changed.notify_all()

    def wait_for_chats(self, cancelled: threading.Event, poll_s: float = 0.5) -> None:
        """Return once no chat answer is being written, or once `cancelled` is set."""
        with self._changed:
            while self._active and not cancelled.is_set():
                self._changed.wait(poll_s)
