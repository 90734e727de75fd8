"""What the app does before it can answer — the bundled corpus read into an empty store, then the
index, the embedders and the model loaded — in the background, so that the page is served at
once and says what it is waiting for.

Why: on a first start (a fresh machine, a Space whose disk was wiped) reading the bundled corpus
takes a minute or two; done before serving, the browser met "connection refused" all that time.
"""

from __future__ import annotations

import logging
import threading

from assistant import prompts
from assistant.pipeline.chain import Assistant
from assistant.settings import BUNDLED_CORPUS

log = logging.getLogger(__name__)


class Startup:
    """The start-up work and how far it is; `assistant.ready` is set when it is done, also when
    a step failed (the question that follows reports the failure properly)."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self._lock = threading.Lock()
        self._passages: tuple[int, int] | None = None  # (indexed, of) while the corpus is read

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="start-up", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        try:
            self.ensure_corpus()
        except Exception:  # noqa: BLE001 - the app still serves; the log says why
            log.exception("reading the bundled corpus failed")
        finally:
            with self._lock:
                self._passages = None
            self.assistant.warm_up()

    def ensure_corpus(self) -> None:
        """Read the bundled corpus when the store is empty: Spaces disks are not persistent."""
        kb = self.assistant.kb
        if kb.documents() or not BUNDLED_CORPUS.is_dir():
            return
        log.info("the store is empty: ingesting the bundled corpus (%s)", BUNDLED_CORPUS)

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "chunks":
                with self._lock:
                    self._passages = (done, total)
            log.info("ingesting the bundled corpus: %d/%d %s", done, total, stage)

        with self._lock:
            self._passages = (0, 0)
        report = kb.ingest([BUNDLED_CORPUS], progress=progress)
        log.info("ingested the bundled corpus: %d documents", len(report.added))

    def waiting(self, language: str) -> str | None:
        """What a question asked now waits for, in `language`; None once the app is ready."""
        if self.assistant.ready.is_set():
            return None
        with self._lock:
            passages = self._passages
        if passages is not None:
            done, total = passages
            return prompts.message(language, "waiting_corpus", done=str(done),
                                   total=str(total) if total else "…")
        return prompts.message(language, "waiting_model")
