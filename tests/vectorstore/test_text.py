"""The text toolkit: each policy its callers choose gives what they were measured with."""

from __future__ import annotations

import re

import pytest

from vectorstore.text import (
    MONTH_NAMES,
    NUMBER_WORDS,
    QUANTITY_QUESTION,
    QUESTION_WORDS,
    WHEN_QUESTION,
    fold,
    normalise,
    opens_sentence,
    prefix_stem,
    says_something,
    snowball,
    trimmed_stem,
)


def test_normalise_policies():
    text = "  Ligature ﬁle\u00a0and “Quotes”\n\tStraße  "
    assert normalise(text) == "ligature file and “quotes” straße"
    assert normalise(text, straight_quotes=True) == 'ligature file and "quotes" straße'
    assert normalise(text, case="casefold") == "ligature file and “quotes” strasse"
    assert normalise("3.2. Het  Gereedschap!", case="casefold", letters_and_digits=True) == \
        "32hetgereedschap"
    assert normalise("ﬁle", nfkc=False) == "ﬁle"  # the ligature kept when NFKC is off


def test_fold_compares_names_without_case_or_accents():
    assert fold("Européenne") == "europeenne"
    assert fold("Ærø") != fold("aero")  # a letter of its own is not an accent


@pytest.mark.parametrize(("text", "at", "policy", "expected"), [
    ("Plus one", 0, {}, True),
    ("He said: Paris", 9, {}, True),
    ("He said: Paris", 9, {"ends": ".!?"}, False),  # the key-term gate's stricter ends
    ("Open «Menu", 6, {}, True),
    ("Open «Menu", 6, {"openers": ""}, False),
    ("the Gimp manual", 4, {}, False),
    ("Done.Next", 5, {}, False),  # an end mark without a space is inside a token (a file name)
    ("  Name", 2, {}, False),
])
def test_opens_sentence(text, at, policy, expected):
    assert opens_sentence(text, at, **policy) is expected


def test_stems_keep_what_two_languages_share():
    assert prefix_stem("unie") == "uni" and "union".startswith(prefix_stem("unie"))
    assert "europeenne".startswith(prefix_stem("europese"))
    assert prefix_stem("ab") == "ab"
    assert trimmed_stem("Altman's") == "Altman"
    assert trimmed_stem("American") == "Ameri" and "Amerikaanse".startswith(trimmed_stem("American"))
    assert trimmed_stem("GIMP") == "GIMP"


@pytest.mark.parametrize(("language", "forms"), [
    ("en", ("layer", "layers")), ("nl", ("gereedschap", "gereedschappen")),
    ("fr", ("calque", "calques"))])
def test_snowball_gives_a_word_and_its_plural_one_stem(language, forms):
    stems = {snowball(language).stemWord(w) for w in forms}
    assert len(stems) == 1


def test_snowball_is_none_for_a_language_without_one():
    assert snowball("xx") is None


def test_word_lists():
    assert NUMBER_WORDS["negen"] == NUMBER_WORDS["neuf"] == NUMBER_WORDS["nine"] == 9
    assert "een" not in NUMBER_WORDS and "une" not in NUMBER_WORDS  # articles, not numbers
    assert MONTH_NAMES["octobre"] == MONTH_NAMES["oktober"] == 10
    assert QUANTITY_QUESTION.search("Hoeveel lagen heeft de afbeelding?")
    assert WHEN_QUESTION.search("Et quand a-t-il ouvert ?")
    assert not WHEN_QUESTION.search("Wat doet hij wanneer het regent?")
    joined = re.compile(rf"^(?:{'|'.join(map(re.escape, QUESTION_WORDS))})\b", re.I)
    assert all(joined.match(q) for q in ("Qu'est-ce", "Waarom niet", "Combien ?"))


def test_says_something():
    assert says_something("Het venster toont vier punten.")
    assert not says_something("Menu Bewerken")
