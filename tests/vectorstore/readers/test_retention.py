"""The readers keep what a reader of the page sees: the retention benchmark's floor, held on a
few documents of every generator it measures (Debian's own files; `scripts/test` fetches them
and installs the tools that print and convert them), and the boxed notes of a DocBook manual."""

from __future__ import annotations

import shutil

import pytest

from benchmarks.retention import GENERATORS, match_key, measure, source_files
from vectorstore.readers.loaders import load_file

FLOOR = 0.995  # of the sentences that are not furniture by the benchmark's rules


def _tools_for(generator) -> list[str]:
    needed = {"chromium": ["chromium"], "libreoffice": ["soffice"], "pandoc": ["pandoc"]}
    return ["apt-get", "dpkg-deb", "pdftotext", *needed.get(generator.make or "", [])]


@pytest.mark.slow
@pytest.mark.parametrize("generator", GENERATORS, ids=[g.name for g in GENERATORS])
def test_readers_keep_the_content_of_every_generator(generator):
    missing = [tool for tool in _tools_for(generator) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/test installs them)")
    result = measure(generator, source_files(generator, limit=3))
    assert result.content >= 50 and not result.refused, result
    assert result.content_kept_share >= FLOOR, "\n".join(result.lost)


@pytest.mark.slow
def test_docbook_boxed_notes_are_kept_with_their_label():
    """Publican's SECURITY, TIP, BACK TO BASICS, CULTURE and NOTE boxes are `div.sidebar`: the
    class word of a site's sidebar, yet the manual's most-asked content. Every word of every box
    is in the text, its label included."""
    from bs4 import BeautifulSoup

    handbook = next(g for g in GENERATORS if g.package == "debian-handbook" and g.kind == "html")
    boxes = 0
    for page in source_files(handbook, limit=25):
        text = match_key(load_file(page).text)
        soup = BeautifulSoup(page.read_bytes(), "html.parser")
        for box in soup.select("div.sidebar"):
            boxes += 1
            label = box.find(class_="title")
            assert label is not None and match_key(label.get_text()) in text, page
            for paragraph in box.find_all("p"):
                assert match_key(paragraph.get_text()) in text, (page, paragraph.get_text())
    assert boxes >= 10
