"""A conversation as the assistant takes it: (user, assistant) pairs.

The chat, `/ask` and `/v1/chat/completions` receive a conversation as a list of role-tagged
messages (Gradio's or OpenAI's); `Assistant.ask` takes pairs. One rule for both.
"""

from __future__ import annotations

from collections.abc import Iterable


def conversation_pairs(turns: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(role, text) turns → (user, assistant) pairs. An assistant turn completes the user turn
    before it; other roles (system) and an assistant turn before any user turn are left out."""
    out: list[tuple[str, str]] = []
    for role, text in turns:
        if role == "user":
            out.append((text, ""))
        elif role == "assistant" and out:
            out[-1] = (out[-1][0], text)
    return out
