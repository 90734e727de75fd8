"""Offline language identification (py3langid ships its model inside the package)."""

from __future__ import annotations

from functools import lru_cache

SUPPORTED_LANGUAGES = ("en", "nl", "fr")  # questions, answers, prompts: the one list
DOCUMENT_LANGUAGES = ("en", "nl", "fr", "de", "es", "it", "pt")
_SAMPLES, _SAMPLE_CHARS = 5, 1000


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(languages))
    return ident


def detect_language(text: str, languages: tuple[str, ...] = DOCUMENT_LANGUAGES) -> str:
    """Most likely language of `text` among `languages` (the first one for empty text).

    A long text is sampled at five places along it: a book's first pages are often a licence or
    a title page in another language than the book."""
    words = " ".join(text.split())
    step = max(len(words) // _SAMPLES, _SAMPLE_CHARS)
    sample = " ".join(words[i : i + _SAMPLE_CHARS] for i in range(0, len(words), step)[:_SAMPLES])
    if not sample:
        return languages[0]
    lang, _prob = _identifier(tuple(languages)).classify(sample)
    return str(lang)


def detect_question_language(text: str) -> str:
    """Language of a user question, restricted to the languages Kenbron answers in."""
    return detect_language(text, SUPPORTED_LANGUAGES)
