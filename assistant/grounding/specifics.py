"""The specifics of a claim — numbers, dates and names — and whether a passage carries them.

Why: a topical passage is semantically close to almost any claim about its topic (a cosine of
0.5 between "the deal was worth 9 billion" and a passage about the deal that names no sum), so
similarity alone lets invented numbers and names keep their citations. A citation is therefore
kept only when every specific of the claim occurs in the cited passage, in whatever language or
format it is written there:

- numbers in digits with any separators ("1.000" / "1,000" / "1 000", "1,5" / "1.5"), with
  scale words ("1 miljard" ~ "1 milliard" ~ "1 billion" ~ "1000000000") and as number words
  ("negen" ~ "neuf" ~ "nine" ~ "9");
- dates: "2025-10-08" ~ "8 oktober 2025" ~ "8 octobre 2025" ~ "October 8, 2025" (month names
  of the three languages count as their month number inside a date);
- names (capitalised words not opening a sentence, words with inner capitals, acronyms of four
  letters or more): present in the passage or its document's title, compared without case and
  accents; a shared stem counts (five letters, fewer for short names), so "Europese" matches
  "européenne" and "Unie" matches "Union";
- technical terms — commands ("\\documentclass"), paths ("~/.config", "/etc/hosts"), URLs, file
  and domain names ("setup.cfg", "ftp.example.org"), file extensions (".png") and options
  ("--verbose"): what a manual's answer is made of, never translated, often lower case (so no
  name), and exactly what a small model garbles or borrows from a neighbouring passage. They
  must occur as written, case aside; an extension may lose its dot or take a compound's tail
  ("png" for ".png", ".png-bestand").

The word lists (number words, scales, months), folding and the sentence-start rule are
`vectorstore.text`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vectorstore.text import (
    MONTH_NAMES,
    NUMBER_WORDS,
    QUANTITY_QUESTION,
    SCALE_WORDS,
    WHEN_QUESTION,
    fold,
    opens_sentence,
    prefix_stem,
)

_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,\u00a0\u202f]\d+)*(?![\w])")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})[/-](\d{1,2})[/-](\d{4})\b")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|\w*\d\w*", re.UNICODE)

def _values(token: str) -> set[str]:
    """The values a digit string can stand for, as canonical strings ("1.000" -> 1000 and 1)."""
    token = token.replace("\u00a0", " ").replace("\u202f", " ")
    seps = [c for c in token if not c.isdigit()]
    groups = re.split(r"[., ]", token)
    out = set()
    if not seps:
        out.add(str(int(token)))
        return out
    if all(len(g) == 3 for g in groups[1:]):  # could be thousands separators
        out.add(str(int("".join(groups))))
    if len(seps) == 1 or len(set(seps)) == 2:  # the last separator may be the decimal point
        whole = "".join(re.split(r"[., ]", token[: token.rfind(seps[-1])]))
        decimal = groups[-1].rstrip("0")
        out.add(str(int(whole)) + (f".{decimal}" if decimal else ""))
    return out


def _canon(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Specific:
    """One number, date part or name of a claim, with every form it may take in a passage."""

    text: str
    forms: frozenset[str]
    kind: str  # "number" or "name"


def _scaled(forms: set[str], following: str) -> set[str]:
    scale = SCALE_WORDS.get(fold(following))
    if not scale:
        return forms
    return forms | {_canon(float(f) * scale) for f in forms}


def numbers(text: str) -> list[Specific]:
    """Numbers and date parts of `text`, each with its possible canonical forms."""
    found: list[Specific] = []
    dated: set[int] = set()
    for match in _ISO_DATE.finditer(text):
        year, month, day = ((match.group(1), match.group(2), match.group(3)) if match.group(1)
                            else (match.group(6), match.group(5), match.group(4)))
        found += [Specific(year, frozenset({str(int(year))}), "number"),
                  Specific(month, frozenset({str(int(month)), f"month:{int(month)}"}), "number"),
                  Specific(day, frozenset({str(int(day))}), "number")]
        dated.update(range(match.start(), match.end()))
    words = list(_WORD.finditer(text))
    for match in _NUMBER.finditer(text):
        if match.start() in dated:
            continue
        following = next((w.group(0) for w in words if w.start() > match.end()), "")
        found.append(Specific(match.group(0), frozenset(_scaled(_values(match.group(0)), following)),
                              "number"))
    for i, match in enumerate(words):
        word = fold(match.group(0))
        previous = words[i - 1].group(0) if i else ""
        if word in SCALE_WORDS and not (previous[:1].isdigit() or fold(previous) in NUMBER_WORDS):
            # "le milliard d'utilisateurs", "millions of users": a quantity on its own
            found.append(Specific(match.group(0), frozenset({_canon(SCALE_WORDS[word])}), "number"))
        elif word in NUMBER_WORDS:
            following = words[i + 1].group(0) if i + 1 < len(words) else ""
            found.append(Specific(match.group(0),
                                  frozenset(_scaled({str(NUMBER_WORDS[word])}, following)), "number"))
    return found


def passage_forms(text: str) -> set[str]:
    """Every canonical form of every number, date part and month name in a passage."""
    forms = {f for s in numbers(text) for f in s.forms}
    for match in _WORD.finditer(text):
        month = MONTH_NAMES.get(fold(match.group(0)).rstrip("."))
        if month:
            forms.add(f"month:{month}")
    return forms


def names(text: str) -> list[Specific]:
    """Names in `text`: capitalised words not opening a sentence, inner capitals, acronyms.

    Words of fewer than four letters are left out: short acronyms differ by language ("AI",
    "KI", "IA") and are rarely what a model invents.
    """
    found = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        letters = [c for c in word if c.isalpha()]
        if len(letters) < 4 or not any(c.isupper() for c in word) or word.isdigit():
            continue
        inner = any(c.isupper() for c in word[1:])
        if not inner and opens_sentence(text, match.start()):
            continue  # a capital because the sentence starts here
        found.append(Specific(word, frozenset({fold(word)}), "name"))
    return found


# a command, URL, path, file or domain name, extension or option, as manuals write them
_TERM = re.compile(r"""(?<![\w\\/.~-])(
    \\[A-Za-z@]{2,}                                   # a TeX command
  | [a-z][a-z0-9+.-]*://[^\s"'”»)\]]+                  # a URL
  | (?:~|\.{1,2})?/[\w.~-]+(?:/[\w.~-]+)*/?            # a path
  | [A-Za-z_][\w-]+(?:\.[\w-]+)*\.[a-z][a-z0-9]{1,7}(?:/[\w.~%-]+)*  # a file or domain name
  | \.[A-Za-z][\w]{1,9}(?:-[^\W\d_]+)?                 # an extension or hidden file
  | --?[A-Za-z][\w-]*                                   # an option
)(?![\w/])""", re.VERBOSE)
_OPTION_BEFORE = re.compile(r"(?:^|[\s(\[])$")


def terms(text: str) -> list[Specific]:
    """Technical terms in `text`: commands, URLs, paths, file and domain names, extensions and
    options (see the module doc). An option counts only after a space or bracket or at the start
    (a hyphen inside a word joins it: "diffère-t-il"); a closing slash does not count."""
    found = []
    for match in _TERM.finditer(text):
        term = match.group(1).rstrip(".,;:")
        term = term.rstrip("/") or term
        if term.startswith("-") and not _OPTION_BEFORE.search(text[: match.start()]):
            continue
        if len(term) >= 2:
            found.append(Specific(term, frozenset({fold(term)}), "term"))
    return found


def _term_in(term: str, folded_passage: str) -> bool:
    if term in folded_passage:
        return True
    extension = re.fullmatch(r"\.([a-z]\w*)(?:-[^\W\d_]+)?", term)
    return bool(extension) and bool(re.search(rf"(?<!\w){extension.group(1)}(?!\w)",
                                               folded_passage))


def _name_in(name: str, passage_words: set[str], passage: str) -> bool:
    if name in passage:
        return True
    stem = prefix_stem(name)
    return any(w.startswith(stem) for w in passage_words)


def _names_only(text: str) -> str:
    return " ".join(s.text for s in names(text)) if text else ""


def missing_specifics(claim: str, passage: str, title: str = "", question: str = "") -> list[str]:
    """The numbers, dates, names and technical terms of `claim` that `passage` (or its title)
    does not carry.

    Names and terms the asker used in `question` are exempt: an answer restating its subject
    invents nothing (the passage may call it "he" or "the company"). Numbers are never exempt: a
    false premise often arrives as a number in the question.
    """
    haystack = f"{title}\n{passage}\n{_names_only(question)}"
    forms = passage_forms(haystack)
    folded = fold(haystack)
    words = {fold(w.group(0)) for w in _WORD.finditer(haystack)}
    missing = [s.text for s in numbers(claim) if not s.forms & forms]
    missing += [s.text for s in names(claim) if not _name_in(next(iter(s.forms)), words, folded)]
    exempt = fold(question)
    missing += [s.text for s in terms(claim)
                if not _term_in(fold(s.text), folded) and not _term_in(fold(s.text), exempt)]
    return missing


def lost_numbers(text: str, rewritten: str) -> list[str]:
    """The numbers and dates of `text` that `rewritten` does not carry, in any language and
    format: what a translation lost, or what a sentence has that its sources lack."""
    forms = passage_forms(rewritten)
    return [s.text for s in numbers(text) if not s.forms & forms]


def asks_for_number(question: str) -> bool:
    """Does the question ask how many, how much or when? Its answer then holds a number or a date."""
    return bool(QUANTITY_QUESTION.search(question) or WHEN_QUESTION.search(question))
