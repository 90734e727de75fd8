"""Text as Kenbron compares it: normalising, folding, stems, sentence starts and the word lists
of the languages it reads — one toolkit, each caller choosing its strictness by parameter.

Why one place: the same idea written three times drifts (a stemmer that trims differently, a
"capital because the sentence starts here" rule that forgets a colon), and a change meant for all
of them reaches one. The policies stay with their callers because each was measured there
(`docs/decisions.md`): BM25 stems with Snowball, a name in a citation may share a five-letter
prefix with its translation, the key-term gate trims a plural; evaluation compares with straight
quotes, a PDF heading is compared by its letters and digits alone.

Lowest layer: `vectorstore` (BM25, the PDF reader) and `assistant` (specifics, evidence, reading,
evaluation) use it; it imports nothing of the project.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

import Stemmer

# --- normalising ------------------------------------------------------------------------------

STRAIGHT_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str, *, case: Literal["lower", "casefold"] = "lower", nfkc: bool = True,
              straight_quotes: bool = False, letters_and_digits: bool = False) -> str:
    """`text` as compared for equality: NFKC (ligatures, full-width forms, non-breaking spaces
    as their plain letters), lower case or Unicode case folding ("ß" ~ "ss"), whitespace runs
    as one space; with `straight_quotes` typographic quotes as ASCII ones, with
    `letters_and_digits` nothing but word characters."""
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold() if case == "casefold" else text.lower()
    if straight_quotes:
        text = text.translate(STRAIGHT_QUOTES)
    if letters_and_digits:
        return re.sub(r"\W+", "", text)
    return " ".join(text.split())


def strip_accents(text: str) -> str:
    """`text` without combining marks ("é" → "e"); case kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case without accents: how names are compared across languages and keyboards."""
    return strip_accents(text.lower())


# --- words and sentences ----------------------------------------------------------------------

SAYS_SOMETHING_WORDS = 4  # fewer words make a label, a heading or a fragment, not a statement


def says_something(sentence: str, min_words: int = SAYS_SOMETHING_WORDS) -> bool:
    """A sentence long enough to state something of its own (and to have a language)."""
    return len(sentence.split()) >= min_words


def opens_sentence(text: str, at: int, *, ends: str = ".!?:;", openers: str = "\"“«(") -> bool:
    """Whether position `at` of `text` begins a sentence: the start of the text, after one of
    `ends` and whitespace, or after one of `openers` — where a capital says nothing about
    whether a word is a name."""
    before = text[:at]
    if not before:
        return True
    stripped = before.rstrip()
    if stripped and stripped[-1] in openers:
        return True
    return bool(stripped) and stripped[-1] in ends and len(stripped) < len(before)


# --- stems ------------------------------------------------------------------------------------

_SNOWBALL = {"en": "english", "nl": "dutch", "fr": "french", "de": "german", "es": "spanish",
             "it": "italian", "pt": "portuguese"}


@lru_cache(maxsize=16)
def snowball(language: str) -> Stemmer.Stemmer | None:
    """The Snowball stemmer of `language`, None for a language without one. Full stemming for
    ranking, where a wrong merge only costs a little score."""
    name = _SNOWBALL.get(language)
    return Stemmer.Stemmer(name) if name else None


def prefix_stem(word: str, longest: int = 5, shortest: int = 3) -> str:
    """The first letters two forms of a name share across languages ("unie" ~ "union",
    "europese" ~ "européenne"): `longest` letters, fewer for a short word, never under
    `shortest`."""
    return word[: max(shortest, min(longest, len(word) - 1))]


def trimmed_stem(word: str, long: int = 7, keep: int = 5, trim: int = 3) -> str:
    """A term without its possessive or plural "s" ("Altman's" ~ "Altman"), and a `long` word
    without its last `trim` letters (at least `keep` kept): a long name's ending changes across
    languages ("American" ~ "Amerikaanse")."""
    stem = re.sub(r"('s|s)$", "", word)
    if len(stem) >= long:
        stem = stem[: max(keep, len(stem) - trim)]
    return stem


# --- word lists -------------------------------------------------------------------------------

# Words that name a language describe a source ("the French article", "het Franse stuk"), not
# a fact an answer needs; English capitalises them, so they look like names.
LANGUAGE_NAMES = frozenset({
    "english", "dutch", "french", "flemish", "engels", "engelse", "nederlands", "nederlandse",
    "frans", "franse", "anglais", "neerlandais", "francais"})

# The words that open a question (or a question's second part) in English, French and Dutch.
QUESTION_WORDS = (
    "what", "which", "how", "why", "when", "where", "who", "is", "are", "does", "do", "can",
    "should", "lequel", "laquelle", "lesquels", "lesquelles", "quel", "quelle", "quels",
    "quelles", "comment", "pourquoi", "quand", "où", "qui", "combien", "que", "qu'", "qu’", "est-ce",
    "wat", "welke", "welk", "hoe", "waarom", "wanneer", "waar", "wie", "hoeveel", "zijn", "kan",
    "kun", "moet", "mag")

# Questions that ask how many, how much or when: their answer holds a number or a date
QUANTITY_QUESTION = re.compile(r"\b(how (?:many|much|long|old)|what year|in which year|hoeveel|"
                               r"welk jaar|hoe (?:lang|oud)|combien|quelle année)\b", re.IGNORECASE)
# "when" words only open a question: inside one they join clauses ("... doet wanneer AGI komt")
WHEN_QUESTION = re.compile(
    r"^\W*(?:(?:and|en|et|since|sinds|depuis|vanaf|until|tot)\s+)?(?:when|wanneer|quand)\b",
    re.IGNORECASE)

# Number words of the three languages. Words that double as common words are left out: "een",
# "un", "une", "one" (articles), Dutch "onze" (our), French "cent" (as in "pour cent").
NUMBER_WORDS: dict[str, int] = {"één": 1} | {word: value for value, words in {
    2: "two twee deux", 3: "three drie trois", 4: "four vier quatre", 5: "five vijf cinq",
    6: "six zes", 7: "seven zeven sept", 8: "eight acht huit", 9: "nine negen neuf",
    10: "ten tien dix", 11: "eleven elf", 12: "twelve twaalf douze", 13: "thirteen dertien treize",
    14: "fourteen veertien quatorze", 15: "fifteen vijftien quinze", 16: "sixteen zestien seize",
    17: "seventeen zeventien", 18: "eighteen achttien", 19: "nineteen negentien",
    20: "twenty twintig vingt", 30: "thirty dertig trente", 40: "forty veertig quarante",
    50: "fifty vijftig cinquante", 60: "sixty zestig soixante", 70: "seventy zeventig septante",
    80: "eighty tachtig quatre-vingts", 90: "ninety negentig nonante", 100: "hundred honderd",
    1000: "thousand duizend mille",
}.items() for word in words.split()}

SCALE_WORDS = {"thousand": 1e3, "duizend": 1e3, "mille": 1e3, "million": 1e6, "millions": 1e6,
               "miljoen": 1e6, "mln": 1e6, "billion": 1e9, "billions": 1e9, "miljard": 1e9,
               "milliard": 1e9, "milliards": 1e9, "mld": 1e9, "trillion": 1e12, "biljoen": 1e12}

MONTH_NAMES: dict[str, int] = {name: number for number, names in enumerate([
    "january januari janvier jan", "february februari février fevrier feb", "march maart mars mar",
    "april avril apr", "mei mai", "june juni juin jun", "july juli juillet jul",
    "august augustus août aout aug", "september septembre sep sept", "october oktober octobre oct",
    "november novembre nov", "december december décembre decembre dec"], start=1)
    for name in names.split()}
