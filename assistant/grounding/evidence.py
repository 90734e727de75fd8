"""Signals of whether retrieved chunks can answer a question, independent of any LLM.

Used to abstain early (no model call) and by the extractive backend. The key-term check asks
that the question's names, numbers and commands — the words an answer cannot do without —
occur in the retrieved text; they are language-independent, so it works across languages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vectorstore.documents import ScoredChunk
from vectorstore.text import LANGUAGE_NAMES, fold, opens_sentence, strip_accents, trimmed_stem

# capitalised words and acronyms (not where a sentence starts), numbers with 2+ digits
_CAPITALISED = re.compile(r"\b[A-Z][\w-]*[A-Za-z]\w*|\b[A-Z]{2,}\w*\b")
_ACRONYM = re.compile(r"[A-Z]{2,}\w*\b")
_NUMBER = re.compile(r"\b\d{2,}(?:[.,]\d+)?\b")
_FUNCTION_NAMES = {"i", "i'm", "ai", "ia", "ki"}
# what is typed rather than written — a command ("\usepackage"), an option ("--verbose"), a file
# or identifier ("config.yaml", "line_height"), anything in backticks — is the same in every
# language and in whatever case a manual uses, so a passage about it carries it as typed
_CODE = re.compile(r"`[^`\s][^`]*`|\\[A-Za-z@]+|(?<![\w-])--?[A-Za-z][\w-]*"
                   r"|\b[A-Za-z]\w+(?:[._][A-Za-z0-9]\w*)+\b")


def key_terms(question: str) -> list[str]:
    """Names, acronyms, numbers and what is typed (`_CODE`) in the question (its first word
    excluded as a name).

    A compound led by the acronym for AI ("AI-model", "KI-partner") is a generic noun, not a
    name an answer must repeat: it counts only by its other capitalised parts.
    """
    codes = _CODE.findall(question)
    words = _CODE.sub(" ", question).strip()  # a command's capitals are not a name
    names = []
    for match in _CAPITALISED.finditer(words):
        if match.start() == 0:
            continue
        name = match.group(0)
        if opens_sentence(words, match.start(), ends=".!?", openers=""):
            acronym = _ACRONYM.match(words, match.start())  # else a capital for the sentence
            if acronym is None:
                continue
            name = acronym.group(0)
        head, _, rest = name.partition("-")
        if rest and fold(head) in _FUNCTION_NAMES:
            names += [p for p in rest.split("-") if p[:1].isupper()]
        else:
            names.append(name)
    terms = [t for t in names if fold(t) not in _FUNCTION_NAMES | LANGUAGE_NAMES]
    return list(dict.fromkeys(terms + _NUMBER.findall(words) + codes))


def missing_key_terms(question: str, hits: Sequence[ScoredChunk],
                      language: str | None = None) -> list[str]:
    """Key terms of the question that none of the retrieved chunks contains.

    A capitalised word is often a translatable label rather than a name — a menu or tool of a
    manual ("the Airbrush" is "Verfspuit" in Dutch), a month, a city with a name of its own in each
    language — so it is required only when the best-ranked chunk, the one most about the
    question, is in the question's `language` (where it would be written the same). When that
    passage is in another language, a label missing from it is a question of translation, not
    of evidence: only what is never translated counts then — numbers, acronyms, names with
    inner capitals or digits ("GIMP", "LaTeX") and what is typed ("\\kaderlijn", "--verbose").
    (Any retrieved chunk in the question's language used to make every label count; a
    lower-ranked passage in the asker's language then made the gate abstain on labels the
    answering passage has translated.)
    """
    # accents removed, case kept: names are matched as names ("Plus" is not "plus")
    haystack = strip_accents(" ".join(h.chunk.text for h in hits))
    lowered = haystack.lower()
    same_language = language is None or not hits or hits[0].chunk.language == language
    aliases = _aliases(question)
    return [term for term in key_terms(question)
            if (same_language or _untranslated(term)) and not _present(term, haystack, lowered)
            and not any(_present(alias, haystack, lowered) for alias in aliases.get(term, ()))]


# a name followed by another in brackets: "the Shadow Pen tool (Schaduwpen)", "Plumombre (Shadow Pen)"
_ALIAS = re.compile(r"([\w-]+)\s*\(\s*([^()\s][^()]{0,40}?)\s*\)")


def _aliases(question: str) -> dict[str, set[str]]:
    """Each word of the question paired with the one it is glossed by in brackets, and back.

    A manual's users name a tool or menu by its label in two languages ("l'outil Plumombre
    (Schaduwpen)"); the passages, in one language, carry one of them, and either is the name.
    """
    pairs: dict[str, set[str]] = {}
    for match in _ALIAS.finditer(question):
        word, gloss = match.group(1), match.group(2)
        pairs.setdefault(word, set()).add(gloss)
        pairs.setdefault(gloss, set()).add(word)
    return pairs


def _untranslated(term: str) -> bool:
    folded = strip_accents(term)
    return folded[0].isdigit() or bool(_TECHNICAL.search(folded)) or _typed(term)


def _typed(term: str) -> bool:
    return _CODE.fullmatch(term) is not None


def _present(term: str, haystack: str, lowered: str) -> bool:
    """Whether a key term occurs, as a person would read it.

    - A number must occur as a number, not inside an ISO date line (document metadata).
    - A possessive or plural suffix must not hide a match ("Altman's" ~ "Altman"), and a long
      name may change its ending across languages ("American" ~ "Amerikaanse").
    - Technical spellings vary in case between a question and a manual ("LaTeX" ~ "LATEX",
      "GIMP" ~ "Gimp"): a term with an inner capital, a digit or only capitals matches in any case.
    - A compound counts when each of its parts that is a name does: its common nouns translate
      ("RPM-pakketten" ~ "paquets RPM").
    - What is typed (`_CODE`) occurs as typed, in any case.
    """
    folded = strip_accents(term)
    if folded[0].isdigit():
        return bool(re.search(rf"(?<![\d-]){re.escape(folded)}(?![\d-])", haystack))
    if _typed(term):  # whole, in any case: "\kaderlijnen" or a stem of "config.yaml" is another
        typed = re.escape(folded.strip("`").lower())
        return bool(re.search(rf"(?<![\w-]){typed}(?![\w-])", lowered))
    stem = trimmed_stem(folded)
    if folded in haystack or (len(stem) >= 3 and stem in haystack):
        return True
    if _TECHNICAL.search(folded) and len(stem) >= 2 and stem.lower() in lowered:
        return True
    parts = re.split(r"[-/]", folded)
    names = [p for p in parts if len(p) >= 2 and p[0].isupper()]
    return len(parts) > 1 and bool(names) and all(_present(p, haystack, lowered) for p in names)


# an inner capital ("LaTeX", "iPhone"), a digit ("mp3") or capitals only ("GIMP", "RPM")
_TECHNICAL = re.compile(r"^\w+[A-Z]|\d|^[A-Z]{2,}$")
