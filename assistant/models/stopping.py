"""Stopping an answer while the model is still at work on it.

A user's Stop reaches an answer's generator only when the generator next yields, and a local model
reading a long prompt yields nothing for seconds (15 s and more on a 2-core CPU): the model went on
reading a prompt nobody wanted, and the next question waited behind it. So whoever may stop an
answer makes a `StopSignal` and makes it current while it pulls each step of the answer
(`with signal.current(): next(events)`); a model call says, for as long as it runs, how it can be
cut short (`on_stop`) — the local model asks its server to abort that one request. `stop()` runs
those actions from the thread that stops, so nothing waits for the model to yield.

The signal travels as a context variable because the answer is a chain of LangChain runnables
between the caller and the model: the variable is read in the thread that pulls the answer, where
the model call runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

Action = Callable[[], None]


class StopSignal:
    """Set once, by `stop()`; runs the actions registered while it is current."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._actions: list[Action] = []

    def is_set(self) -> bool:
        return self._event.is_set()

    def stop(self) -> None:
        with self._lock:
            self._event.set()
            actions = list(self._actions)
        for action in actions:
            _run(action)

    @contextlib.contextmanager
    def current(self) -> Iterator[StopSignal]:
        """Model calls made inside the block register their stop actions with this signal."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def _add(self, action: Action) -> bool:
        with self._lock:
            if not self._event.is_set():
                self._actions.append(action)
                return True
        return False

    def _remove(self, action: Action) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._actions.remove(action)


_CURRENT: contextvars.ContextVar[StopSignal | None] = contextvars.ContextVar(
    "stop_signal", default=None)


@contextlib.contextmanager
def on_stop(action: Action) -> Iterator[None]:
    """Inside the block, a Stop of the current signal runs `action` (at once if the signal is
    already set); with no current signal the block just runs."""
    signal = _CURRENT.get()
    if signal is not None and not signal._add(action):
        _run(action)
    try:
        yield
    finally:
        if signal is not None:
            signal._remove(action)


def stop_requested() -> bool:
    """Whether the current signal, if any, has been set."""
    signal = _CURRENT.get()
    return signal is not None and signal.is_set()


def _run(action: Action) -> None:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - a failed abort leaves the model to finish, no worse
        log.warning("could not stop the model's request: %s", exc)
