"""The error a user sees as is: what failed in answering, without secrets, with the fix."""

from __future__ import annotations


class LLMError(RuntimeError):
    """The answering model is unavailable or failed; the message is safe to show to users."""
