"""How faithfully each text extractor reads the realdocs corpus (`eval/realdocs/`).

For every evidence string of the question set (a passage a person copied from the page as they
read it) we ask, after the question sets' normalisation:

- `in_text`: does the extracted text contain it at all (words not glued, not cut);
- `in_block`: does one paragraph of it contain it (a sentence not broken at an inline element
  or a PDF line); chunking, sentence ranking and citation checks work within paragraphs;
- `in_sentence`: does one sentence of it (Kenbron's splitter) contain it;
- nav blocks: paragraphs that are only a navigation label (previous, next, up, home);
- cut per 1k words: line breaks inside a sentence (a lower-case letter or comma before the break,
  a lower-case letter after it), per thousand words: what the sentence splitter, the model and
  the citation checks would see as two fragments. A table row (cells apart by " | ") is a line
  of its own, not a cut.

    .venv/bin/python -m benchmarks.extractors [--out benchmarks/results]

Extractors: Kenbron's loaders (the default), BeautifulSoup `get_text()` as the tutorial recipe
and older Kenbron did, trafilatura (HTML), pypdf (PDF). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path

from assistant.evaluation.metrics import normalise
from vectorstore.index.chunking import sentence_spans
from vectorstore.readers.loaders import load_file
from vectorstore.readers.structured_text import CELL_SEPARATOR

ROOT = Path(__file__).resolve().parent.parent / "eval" / "realdocs"
log = logging.getLogger("benchmarks.extractors")


def kenbron(path: Path) -> str:
    return load_file(path).text


def soup_text(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    lines = [" ".join(line.split()) for line in soup.get_text("\n").split("\n")]
    return "\n\n".join(line for line in lines if line)


def trafilatura_text(path: Path) -> str:
    import trafilatura

    return trafilatura.extract(path.read_text(encoding="utf-8"), include_tables=True,
                               include_formatting=False, favor_recall=True) or ""


def pypdf_text(path: Path) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n\n".join((page.extract_text() or "") for page in reader.pages)


EXTRACTORS = {
    "html": {"kenbron": kenbron, "bs4 get_text": soup_text, "trafilatura": trafilatura_text},
    "pdf": {"kenbron": kenbron, "pypdf": pypdf_text},
}
CUT = re.compile(r"[a-zà-ÿ,]\s*\n\s*(?=[a-zà-ÿ])")
# blocks that are only a navigation label of the manual's pages
FURNITURE = re.compile(r"(volgende|vorige|terug|omhoog|inhoud|index|précédent|suivant|"
                       r"sommaire|niveau supérieur|accueil|home|up|next|prev)", re.I)


def measure() -> dict:
    questions = [json.loads(line) for line in (ROOT / "questions.dev.jsonl").open()]
    evidence: dict[str, list[str]] = {}
    for q in questions:
        for source in q["sources"]:
            evidence.setdefault(source, []).extend(q["evidence"])
    results: dict = {}
    for kind, extractors in EXTRACTORS.items():
        files = sorted(s for s in evidence if s.endswith(f".{kind}"))
        texts = {name: {s: extract(ROOT / "corpus" / s) for s in files}
                 for name, extract in extractors.items()}
        for name in extractors:
            counts = {"evidence": 0, "in_text": 0, "in_block": 0, "in_sentence": 0, "furniture": 0,
                      "cuts": 0, "words": 0}
            for source in files:
                text = texts[name][source]
                whole = normalise(text)
                blocks = [normalise(b) for b in re.split(r"\n\s*\n", text)]
                sentences = [normalise(text[s:e]) for s, e in sentence_spans(text)]
                counts["furniture"] += sum(bool(FURNITURE.fullmatch(b.strip())) for b in blocks)
                rows_apart = "\n".join("|" if CELL_SEPARATOR in line else line
                                        for line in text.split("\n"))
                counts["cuts"] += len(CUT.findall(rows_apart))
                counts["words"] += len(text.split())
                for ev in evidence[source]:
                    ev_n = normalise(ev)
                    if not any(ev_n in normalise(t[source]) for t in texts.values()):
                        continue  # evidence of a question's other source
                    counts["evidence"] += 1
                    counts["in_text"] += ev_n in whole
                    counts["in_block"] += any(ev_n in b for b in blocks)
                    counts["in_sentence"] += any(ev_n in s for s in sentences)
            results[f"{kind}: {name}"] = counts
            log.info("%s: %s", kind, counts)
    return results


def to_markdown(results: dict) -> str:
    rows = ["| extractor | evidence | in text | in one paragraph | in one sentence | nav blocks "
            "| cut per 1k words |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, c in results.items():
        n = c["evidence"] or 1
        rows.append(f"| {name} | {c['evidence']} | {c['in_text'] / n:.2f} | {c['in_block'] / n:.2f} "
                    f"| {c['in_sentence'] / n:.2f} | {c['furniture']} "
                    f"| {1000 * c['cuts'] / max(c['words'], 1):.1f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = measure()
    table = to_markdown(results)
    logging.getLogger().info("\n%s", table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "extractors.json").write_text(json.dumps(results, indent=2))
        (args.out / "extractors.md").write_text(
            "# Text extraction on the realdocs corpus\n\n" + table + "\n")


if __name__ == "__main__":
    main()
