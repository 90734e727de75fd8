"""What the `kenbron` commands share: their error, their settings from flags and environment,
the knowledge base, and progress bars that suit a terminal and a log file alike."""

from __future__ import annotations

import argparse
import sys

from assistant.settings import Settings, store_config


class CliError(Exception):
    """An error to print as one line, with exit status 2 (usage) or 1 (failure)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        return Settings.from_env(
            data_dir=getattr(args, "data_dir", None),
            embedding=getattr(args, "embedding", None),
            collection=getattr(args, "collection", None),
            k=getattr(args, "k", None),
            backend=getattr(args, "backend", None),
            model=getattr(args, "model", None),
        )
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc), status=2) from exc


def knowledge_base(settings: Settings):
    from vectorstore.index.knowledge_base import KnowledgeBase

    return KnowledgeBase(store_config(settings))


class _LogLines:
    """Progress where stderr is no terminal (a log file, CI, a container's log): each refresh of
    a bar becomes a line of its own instead of a redraw with carriage returns."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\x1b[A", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(**options):
    """A tqdm bar on stderr: redrawn on a terminal, else a line every 30 seconds at most."""
    from tqdm import tqdm

    if sys.stderr.isatty():
        return tqdm(file=sys.stderr, **options)
    return tqdm(file=_LogLines(sys.stderr), mininterval=30, maxinterval=30, ascii=True, **options)


def ingest_with_progress(kb, paths: list, replace: bool = False, quiet: bool = False):
    """Ingest with progress bars on stderr (files, then chunks per batch)."""
    bars: dict = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            unit = "file" if stage == "files" else "chunk"
            bar = bars[stage] = progress_bar(total=total, unit=unit, desc=f"{stage:>6}",
                                              leave=stage == "files", disable=quiet)
        bar.update(done - bar.n)

    try:
        return kb.ingest(paths, progress=progress, replace=replace)
    finally:
        for bar in bars.values():
            bar.close()
