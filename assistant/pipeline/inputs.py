"""The question and the conversation as the pipeline takes them."""

from __future__ import annotations

import re
import unicodedata

from assistant.grounding.citations import strip_markers
from assistant.models.backends import History

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class QuestionError(ValueError):
    """The question cannot be asked (empty, too long); the message says why."""


def clean_question(question: str, limit: int) -> str:
    """Reject empty or oversized questions; drop control characters."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question)).strip()
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > limit:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {limit}")
    return text


def history_text(history: History, turns: int = 3) -> str:
    """The last `turns` exchanges as the condense prompt reads them (answers without markers)."""
    lines = []
    for user, assistant in list(history)[-turns:]:
        lines.append(f"User: {user}")
        if assistant:
            lines.append(f"Assistant: {strip_markers(assistant)[:600]}")
    return "\n".join(lines)


