"""Follow-up questions offered under an answer: what else the retrieved passages cover.

Each suggestion asks about the topic of a passage that was retrieved for the question — its
section heading with the heading above it, else its document's title — in the asker's language,
with the topic quoted as the document writes it. A suggestion stands on its own: clicked, it is
asked without the conversation before it. Nothing is invented: a suggestion is offered only if
searching for it brings back the passage it was made from and passes the key-term rule that the
answer pipeline applies (`assistant.grounding.evidence`), so asking it finds that passage again. Passages the
answer did not cite come first (the answer already covered the cited ones). No model is asked:
this costs a few searches (about 0.1 s each), not a generation, and works for every backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant import prompts
from assistant.answer import Answer
from assistant.grounding.evidence import missing_key_terms
from vectorstore.documents import SECTION_SEPARATOR, ScoredChunk
from vectorstore.text import normalise

MAX_SUGGESTIONS = 3
MAX_TOPIC_CHARS = 80  # longer "titles" are sentences (news headlines cut at their start)
# "3.9.1.", "2.4", "12", "IV." before a heading; a word such as "Il" is not a number
_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.)\s+")


def _key(text: str) -> str:
    """A heading as compared with another or with the question: case folded, spacing collapsed."""
    return normalise(text, case="casefold")


def _short(text: str) -> str | None:
    text = _NUMBERING.sub("", text).strip()
    return text if text and len(text) <= MAX_TOPIC_CHARS and not text.endswith("…") else None


def topic_of(hit: ScoredChunk) -> tuple[str, str | None] | None:
    """The passage's heading without its numbering ("3.9.1. Het gereedschap activeren" →
    "Het gereedschap activeren") and what it belongs to — the heading above it, else the
    document's title — so that a heading every chapter has ("Activating the tool") still names
    one place; the document's title alone when there are no headings; None when nothing is short
    enough to be a topic."""
    chunk = hit.chunk
    path = [p for p in (chunk.section or "").split(SECTION_SEPARATOR) if p.strip()]
    topic = _short(path[-1]) if path else _short(chunk.title)
    if topic is None:
        return None
    parent = _short(path[-2]) if len(path) > 1 else (_short(chunk.title) if path else None)
    return topic, parent if parent and _key(parent) != _key(topic) else None


Search = Callable[[str, int], Sequence[ScoredChunk]]


def follow_ups(answer: Answer, search: Search, k: int, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to `limit` questions about topics of `answer.retrieved`, each checked by `search`
    (question, k → hits) to find its own passage again."""
    cited = {c.chunk_id for c in answer.citations}
    hits: Sequence[ScoredChunk] = sorted(answer.retrieved, key=lambda h: h.chunk.chunk_id in cited)
    asked = _key(answer.standalone_question or answer.question)
    seen: set[str] = set()
    out: list[str] = []
    for hit in hits:
        found_topic = topic_of(hit)
        if found_topic is None:
            continue
        topic, parent = found_topic
        key = _key(f"{parent} {topic}")
        if key in seen or _key(topic) in asked:
            continue
        seen.add(key)
        forms = [prompts.message(answer.language, "follow_up", topic=topic)]
        if parent:  # with its place first; without it when the place's words are not in the text
            forms.insert(0, prompts.message(answer.language, "follow_up_in", topic=topic, parent=parent))
        for question in forms:
            found = search(question, k)
            if any(h.chunk.source_id == hit.chunk.source_id and h.chunk.section == hit.chunk.section
                   for h in found) and not missing_key_terms(question, found, answer.language):
                out.append(question)
                break
        if len(out) == limit:
            break
    return out
