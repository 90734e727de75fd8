"""The app's own words — tabs, buttons, labels — in English, Dutch and French. Gradio picks the
visitor's browser language on the page (English otherwise); answers follow the asker's language
on their own (`prompts/messages.json`)."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from vectorstore.readers.loaders import SUPPORTED_SUFFIXES

# every language's words, by key; "{types}" stands for the file types the app reads
LABELS: dict[str, dict[str, str]] = {
    language: {key: words.replace("{types}", " ".join(SUPPORTED_SUFFIXES)) for key, words in keys.items()}
    for language, keys in json.loads((Path(__file__).with_name("labels.json")).read_text("utf-8")).items()
}

# label("ask") is the key; the browser shows it in the visitor's language
label = gr.I18n(**LABELS)


def text(language: str, key: str, **values: object) -> str:
    """An interface string the server writes into the page, in `language` (English when the
    language is not one of the app's), its {placeholders} filled."""
    words = LABELS.get(language, LABELS["en"])[key]
    return words.format(**values) if values else words


def browser_language(request: gr.Request | None) -> str:
    """The first of en, nl, fr the visitor's browser asks for (its Accept-Language), else en: the
    language of what the server writes into the page itself (progress, waiting lines)."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or ""
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LABELS:
            return code
    return "en"
