"""Signals of whether retrieved chunks can answer a question, independent of any LLM.

Used to abstain early (no model call) and by the extractive backend. The key-term check asks
that the question's names and numbers — the words an answer cannot do without — occur in the
retrieved text; names are language-independent, so it works across languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from vectorstore.documents import ScoredChunk

# capitalised words not at the start of the question, acronyms, numbers with 2+ digits
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w-]*[A-Za-z]\w*|\b[A-Z]{2,}\w*\b")
_NUMBER = re.compile(r"\b\d{2,}(?:[.,]\d+)?\b")
_FUNCTION_NAMES = {"i", "i'm", "ai", "ia", "ki"}


def _fold(text: str) -> str:
    """Accents removed, case kept: names are matched as names ("Plus" is not "plus")."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def key_terms(question: str) -> list[str]:
    """Names, acronyms and numbers in the question (its first word excluded)."""
    words = question.strip()
    names = [m.group(0) for m in _NAME.finditer(words) if m.start() > 0]
    terms = [t for t in names if _fold(t).lower() not in _FUNCTION_NAMES] + _NUMBER.findall(words)
    return list(dict.fromkeys(terms))


def missing_key_terms(question: str, hits: Sequence[ScoredChunk]) -> list[str]:
    """Key terms of the question that none of the retrieved chunks contains."""
    haystack = _fold(" ".join(h.chunk.text for h in hits))
    missing = []
    for term in key_terms(question):
        folded = _fold(term)
        if folded[0].isdigit():
            # a number must occur as a number, not inside an ISO date line (document metadata)
            if not re.search(rf"(?<![\d-]){re.escape(folded)}(?![\d-])", haystack):
                missing.append(term)
            continue
        # a possessive or plural suffix must not hide a match ("Altman's" ~ "Altman"), and a
        # long name may change its ending across languages ("American" ~ "Amerikaanse")
        stem = re.sub(r"('s|s)$", "", folded)
        if len(stem) >= 7:
            stem = stem[: max(5, len(stem) - 3)]
        if folded not in haystack and (len(stem) < 3 or stem not in haystack):
            missing.append(term)
    return missing
