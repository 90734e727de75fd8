"""Prompt templates and localised fixed messages, read from the `prompts/` package files.

Kept as plain files so that translators and prompt editors never touch code.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources

from vectorstore.language import SUPPORTED_LANGUAGES

NOT_FOUND = "NOT_FOUND"
LANGUAGES = SUPPORTED_LANGUAGES


@cache
def template(name: str) -> str:
    return resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _messages() -> dict[str, dict[str, str]]:
    return json.loads(resources.files("prompts").joinpath("messages.json").read_text(encoding="utf-8"))


def message(language: str, key: str, **values: str) -> str:
    """A fixed message in `language` (English when the language has no translation)."""
    table = _messages()
    text = table.get(language, table["en"]).get(key) or table["en"][key]
    return text.format(**values) if values else text


@lru_cache(maxsize=1)
def answer_examples() -> list[dict[str, str]]:
    """Worked examples shown to the model before every question: {sources, question, language,
    answer}. They are invented (no corpus fact) and never change, so a local model keeps them in
    its cached prompt prefix and they cost nothing per question."""
    path = resources.files("prompts").joinpath("answer_examples.json")
    return json.loads(path.read_text(encoding="utf-8"))
