"""The error a user sees as is: what failed in answering, without secrets, with the fix."""

from __future__ import annotations


class LLMError(RuntimeError):
    """The answering model is unavailable or failed; the message is safe to show to users."""


def error_kinds(exc: BaseException) -> str:
    """The names of the exception's classes, its ancestors included: client libraries re-wrap
    their errors between versions (langchain-openai 1.7 raises OpenAIConnectionError where 1.1
    let httpx's error through), so a failure is recognised by ancestry, not by exact type."""
    return " ".join(cls.__name__ for cls in type(exc).__mro__)


def is_timeout(exc: BaseException) -> bool:
    return "Timeout" in error_kinds(exc)
