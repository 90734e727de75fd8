"""What Kenbron's readers keep of real documents made by many generators, and what they drop.

A reader that drops furniture by rule can drop content silently (a manual's boxed notes went
with a "sidebar" class rule once). This benchmark measures the opposite of what the readers'
rules aim at: for each page, a recall-oriented *reference text* — everything visible in `<body>`
minus script and style (HTML), pdftotext's text (PDF), every paragraph of the document body,
footnotes and endnotes (DOCX) — split into sentences, and the share of those sentences found in
Kenbron's parse. Matching compares letters and digits only (case, accents, whitespace, quotes,
hyphens and cell separators aside), so a sentence counts as kept when its words are there in
order.

A dropped sentence is *furniture* when a rule that does not come from Kenbron's readers says so:

- `links`: its block (the text between two block boundaries) is mostly link text — a link list;
- `repeated`: the same sentence is on at least half of that generator's pages (a site's banner,
  footer, navigation labels), or is among a page's first or last three lines and either repeats
  there on three pages of the PDF, numbers aside, or is a short line that starts or ends with a
  number (running headers and footers);
- `drawing`: the labels of an SVG diagram;
- `page number`: a PDF line that is only a page number ("12", "xii", "78 / 101");
- `glyphs`: music or formulas in a symbol font (most "words" one or two letters);
- `contents`: a line of a contents page (most lines end in a page number) or a DOCX paragraph in
  a table-of-contents style;
- `hidden` / `control`: text of an element marked hidden, or of a form control (a button label).

Every other dropped sentence is listed as content lost. The documents are the Debian packages'
own files (`apt-get download` + `dpkg-deb -x`, no dependencies, no root needed), cached in
`~/.cache/kenbron/debian-docs`; PDFs printed by Chromium and LibreOffice and DOCX files written
by LibreOffice and pandoc are made from the Debian Administrator's Handbook's Dutch pages.

    .venv/bin/python -m benchmarks.retention [--out benchmarks/results] [--fetch-only] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.retention_reference import (
    ASCII_LETTERS,
    Sentence,
    docx_reference,
    html_reference,
    match_key,
    pdf_reference,
)
from vectorstore.readers.loaders import RejectedFile, load_file

log = logging.getLogger("benchmarks.retention")
CACHE = Path(os.environ.get("KENBRON_DOCS_CACHE", Path.home() / ".cache" / "kenbron" / "debian-docs"))
PAGES = 25  # pages (HTML files, PDF pages) per generator, where the package has them


@dataclass(frozen=True)
class Generator:
    """One generator's documents: the Debian package, the files (globs under the package's root,
    in sorted order, the first `PAGES`) and how they are made when they are not files of the
    package (`make`: printed or converted from those files)."""

    name: str
    package: str
    globs: tuple[str, ...]
    kind: str  # "html", "pdf" or "docx"
    make: str | None = None  # "chromium", "libreoffice" or "pandoc"


_HANDBOOK_NL = "usr/share/doc/debian-handbook/html/nl-NL/"
GENERATORS: tuple[Generator, ...] = (
    Generator("DocBook (Publican)", "debian-handbook",
              (_HANDBOOK_NL + "sect.*.html", _HANDBOOK_NL + "sect.*.html"), "html"),
    Generator("DocBook XSL", "debian-edu-doc-nl",
              ("usr/share/doc/debian-edu-doc-nl/*.html",), "html"),
    Generator("Sphinx", "sphinx-doc", ("usr/share/doc/sphinx-doc/html/usage/**/*.html",), "html"),
    Generator("MkDocs", "mkdocs-doc", ("usr/share/doc/mkdocs/html/**/*.html",), "html"),
    Generator("MkDocs (ReadTheDocs theme)", "python-typer-doc",
              ("usr/share/doc/python-typer-doc/html/tutorial/**/*.html",), "html"),
    Generator("texinfo HTML", "lilypond-doc-html-nl",
              ("usr/share/doc/lilypond/html/Documentation/learning/*.nl.html",), "html"),
    Generator("Asciidoctor", "kicad-doc-fr", ("usr/share/doc/kicad/help/fr/*.html",), "html"),
    Generator("Doxygen", "doxygen-doc", ("usr/share/doc/doxygen/html/*.html",), "html"),
    Generator("javadoc", "libcommons-lang3-java-doc",
              ("usr/share/doc/libcommons-lang3-java/api/org/apache/commons/lang3/*.html",), "html"),
    Generator("pdfTeX", "expeyes-doc-fr", ("usr/share/expeyes/doc/fr-eyes.pdf",), "pdf"),
    Generator("DBLaTeX", "debian-edu-doc-nl",
              ("usr/share/doc/debian-edu-doc-nl/debian-edu-bookworm-manual.pdf",), "pdf"),
    Generator("texinfo PDF (Ghostscript)", "lilypond-doc-pdf-nl",
              ("usr/share/doc/lilypond/html/Documentation/learning.nl.pdf",), "pdf"),
    Generator("Chromium print", "debian-edu-doc-nl",
              ("usr/share/doc/debian-edu-doc-nl/debian-edu-bookworm-manual.html",), "pdf",
              make="chromium"),
    Generator("LibreOffice PDF", "debian-handbook", (_HANDBOOK_NL + "sect.*.html",), "pdf",
              make="libreoffice"),
    Generator("LibreOffice DOCX", "debian-handbook", (_HANDBOOK_NL + "sect.*.html",), "docx",
              make="libreoffice"),
    Generator("pandoc DOCX", "debian-handbook", (_HANDBOOK_NL + "sect.*.html",), "docx",
              make="pandoc"),
)

# --- fetching the packages and making the derived files --------------------------------------


def package_root(package: str) -> Path:
    """The package's files, extracted into the cache on first use."""
    root = CACHE / package
    if (root / ".complete").exists():
        return root
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package], cwd=tmp, check=True,
                       capture_output=True)
        deb = next(Path(tmp).glob("*.deb"))
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    (root / ".complete").touch()
    return root


def source_files(generator: Generator, limit: int = PAGES) -> list[Path]:
    """The generator's first `limit` files (HTML pages, PDFs, DOCX), made where need be."""
    root = package_root(generator.package)
    found = sorted({p for g in generator.globs for p in root.glob(g) if p.is_file()})
    return _made(generator, found[:limit]) if generator.make else found[:limit]


def _made(generator: Generator, pages: list[Path]) -> list[Path]:
    out = CACHE / "made" / f"{generator.make}-{generator.kind}"
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for page in pages:
        target = out / f"{page.stem}.{generator.kind}"
        if not target.exists():
            _MAKERS[generator.make](page, target)
        made.append(target)
    return made


def _chromium(page: Path, target: Path) -> None:
    """Chromium's own print: the page's title, URL, date and page numbers in the margins."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--no-first-run",
                        f"--user-data-dir={profile}", f"--print-to-pdf={target}",
                        page.as_uri()], check=True, capture_output=True, timeout=120)


def _libreoffice(page: Path, target: Path) -> None:
    filters = {"pdf": "pdf:writer_web_pdf_Export", "docx": 'docx:MS Word 2007 XML'}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                        "--convert-to", filters[target.suffix[1:]], "--outdir", tmp, str(page)],
                       check=True, capture_output=True, timeout=300)
        shutil.move(next(Path(tmp).glob(f"*{target.suffix}")), target)


def _pandoc(page: Path, target: Path) -> None:
    subprocess.run(["pandoc", "-f", "html", "-t", "docx", "-o", str(target), str(page)],
                   check=True, capture_output=True, timeout=120)


_MAKERS: dict[str, Callable[[Path, Path], None]] = {
    "chromium": _chromium, "libreoffice": _libreoffice, "pandoc": _pandoc}

# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Result:
    """One generator's figures; `lost` lists every dropped sentence that is not furniture."""

    generator: str
    pages: int = 0
    sentences: int = 0
    kept: int = 0
    furniture: int = 0  # dropped and furniture by the rules above
    content: int = 0  # reference sentences that are not furniture
    content_kept: int = 0
    reordered: int = 0  # kept, though not in pdftotext's order
    refused: list[str] = field(default_factory=list)  # files the loader would not read
    lost: list[str] = field(default_factory=list)
    why: dict[str, int] = field(default_factory=dict)

    @property
    def kept_share(self) -> float:
        return self.kept / self.sentences if self.sentences else 1.0

    @property
    def content_kept_share(self) -> float:
        return self.content_kept / self.content if self.content else 1.0

    @property
    def dropped_furniture_share(self) -> float:
        dropped = self.sentences - self.kept
        return self.furniture / dropped if dropped else 1.0


def reference(generator: Generator, path: Path) -> list[Sentence]:
    if generator.kind == "html":
        return html_reference(path)
    if generator.kind == "pdf":
        return pdf_reference(path)
    return docx_reference(path)


def measure(generator: Generator, files: list[Path] | None = None) -> Result:
    """Each reference sentence is kept when its words are in the parse in their order, or —
    since a table, a formula or a margin note may be read in another order by pdftotext — when
    every number and word of four or more letters is somewhere in the parse (`reordered`; hyphens joined,
    and a run of one letter, "hhhh", is a music font's glyphs, not a word)."""
    files = files if files is not None else source_files(generator)
    result = Result(generator.name)
    per_file = []
    for path in files:
        try:
            text = load_file(path).text
        except RejectedFile as exc:  # every sentence of a refused file is lost
            log.warning("refused: %s", exc)
            result.refused.append(str(exc))
            text = ""
        per_file.append((reference(generator, path), match_key(text), set(_words(text))))
    result.pages = len({s.page for ref, _, _ in per_file for s in ref}) \
        if generator.kind == "pdf" else len(files)
    on_pages: Counter[str] = Counter()
    for ref, _, _ in per_file:
        on_pages.update({s.key for s in ref})
    half = max(3, len(files) / 2) if len(files) > 1 else float("inf")
    why: Counter[str] = Counter()
    for ref, text, words in per_file:
        for sentence in ref:
            result.sentences += 1
            kept = sentence.key in text
            own = {w for w in _words(sentence.text)
                   if w.isdigit() or len(w) >= 4 and len(set(w)) > 1}
            if not kept and own and own <= words:
                kept = True
                result.reordered += 1
            reason = sentence.furniture or ("repeated" if on_pages[sentence.key] >= half else None)
            result.kept += kept
            if reason is None:
                result.content += 1
                result.content_kept += kept
                if not kept:
                    result.lost.append(f"{sentence.page}: {sentence.text}")
            elif not kept:
                result.furniture += 1
                why[reason] += 1
    result.why = dict(why)
    return result


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(ASCII_LETTERS))
    folded = "".join(c for c in folded if not unicodedata.combining(c) and c not in "-\u2010")
    return re.findall(r"[^\W\d_]+|\d+", folded)


def to_markdown(results: list[Result]) -> str:
    rows = ["| generator | pages | reference sentences | kept (reordered) | dropped that is "
            "furniture | non-furniture kept | content dropped | files refused |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        rows.append(f"| {r.generator} | {r.pages} | {r.sentences} | {100 * r.kept_share:.1f}% "
                    f"({r.reordered}) "
                    f"| {100 * r.dropped_furniture_share:.1f}% "
                    f"| {100 * r.content_kept_share:.2f}% | {len(r.lost)} | {len(r.refused)} |")
    lost = [f"\n### {r.generator}\n\n" + "\n".join(f"- {line[:300]}" for line in r.lost)
            for r in results if r.lost]
    return "\n".join(rows) + ("\n\n## Content dropped\n" + "".join(lost) if lost else "") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--fetch-only", action="store_true",
                        help="download and extract the packages and make the derived files")
    parser.add_argument("--only", help="generators whose name contains this")
    parser.add_argument("--limit", type=int, default=PAGES, help="files per generator")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = []
    for generator in GENERATORS:
        if args.only and args.only.lower() not in generator.name.lower():
            continue
        files = source_files(generator, args.limit)
        if args.fetch_only:
            log.info("%s: %d files", generator.name, len(files))
            continue
        result = measure(generator, files)
        log.info("%s: %d pages, %d sentences, kept %.1f%%, content kept %.2f%%, furniture %s",
                 result.generator, result.pages, result.sentences, 100 * result.kept_share,
                 100 * result.content_kept_share, result.why)
        results.append(result)
    if args.fetch_only:
        return
    table = to_markdown(results)
    log.info("\n%s", table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "retention.json").write_text(json.dumps(
            [r.__dict__ for r in results], indent=2, ensure_ascii=False))
        (args.out / "retention.md").write_text(
            "# What the readers keep of real documents\n\n" + table)


if __name__ == "__main__":
    main()
