"""The question and the conversation as the pipeline takes them."""

from __future__ import annotations

import re
import unicodedata

from assistant import prompts
from assistant.grounding.citations import strip_markers
from assistant.models.writers import History

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class QuestionError(ValueError):
    """The question cannot be asked (empty, too long); the message says why, in English as the
    exception's text and in any language by `in_language` (the chat answers in the asker's)."""

    def __init__(self, key: str, **values: str) -> None:
        self.key, self.values = key, values
        super().__init__(prompts.message("en", key, **values))

    def in_language(self, language: str) -> str:
        return prompts.message(language, self.key, **self.values)


def clean_question(question: str, limit: int) -> str:
    """Reject empty or oversized questions; drop control characters."""
    if not isinstance(question, str):
        raise QuestionError("question_not_text")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question)).strip()
    if not text:
        raise QuestionError("question_empty")
    if len(text) > limit:
        raise QuestionError("question_too_long", length=str(len(text)), limit=str(limit))
    return text


def history_text(history: History, turns: int = 3) -> str:
    """The last `turns` exchanges as the condense prompt reads them (answers without markers)."""
    lines = []
    for user, assistant in list(history)[-turns:]:
        lines.append(f"User: {user}")
        if assistant:
            lines.append(f"Assistant: {strip_markers(assistant)[:600]}")
    return "\n".join(lines)


