"""One log line per answered request, the same for the chat, `/ask` and the OpenAI-compatible
API: what happened, never what was asked unless `KENBRON_LOG_QUESTIONS` says so."""

from __future__ import annotations

import logging

from assistant.answer import Answer
from assistant.settings import Settings

log = logging.getLogger("kenbron.requests")


def log_answer(surface: str, answer: Answer, settings: Settings) -> None:
    """One line per request: what happened, never the question unless KENBRON_LOG_QUESTIONS."""
    asked = f" question={answer.question!r}" if settings.log_questions else ""
    log.info("%s: language=%s backend=%s abstained=%s reason=%s unsure=%s citations=%d error=%s "
             "total_ms=%s%s", surface, answer.language, answer.backend, answer.abstained,
             answer.abstain_reason, answer.unsure,
             len(answer.citations), bool(answer.error), answer.timings.total_ms, asked)
