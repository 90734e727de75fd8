"""Markdown to text with structure: ATX and Setext headings are sections, fenced and indented
code is kept whole with its line breaks, tables row by row, list items one block each, and the
lines of a hard-wrapped paragraph are joined so its sentences read whole.

Markup that a reader does not see (emphasis marks, link targets) stays in the text: it costs a
few characters and keeps every quoted span identical to the file.
"""

from __future__ import annotations

import re

from vectorstore.readers.structured_text import ParsedText, TextBuilder

_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_HEADING_ATTRS = re.compile(r"\s*\{#[^}]*\}\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_TABLE_ROW = re.compile(r"^\s*\|")


def parse_markdown(text: str) -> ParsedText:
    builder = TextBuilder()
    lines = text.split("\n")
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            builder.block(" ".join(paragraph))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
                end += 1
            builder.lines("\n".join(lines[i + 1 : end]))
            i = end + 1
            continue
        atx = _ATX.match(line)
        if atx:
            flush()
            builder.heading(len(atx.group(1)), _HEADING_ATTRS.sub("", atx.group(2)))
        elif paragraph and len(paragraph) == 1 and _SETEXT.match(line) and not _ITEM.match(
                paragraph[0]):
            title = paragraph.pop()
            builder.heading(1 if line.strip().startswith("=") else 2, title)
        elif _TABLE_ROW.match(line):
            flush()
            end = i
            while end < len(lines) and _TABLE_ROW.match(lines[end]):
                end += 1
            rows = [r for r in lines[i:end] if not re.fullmatch(r"[\s|:-]+", r)]
            builder.lines("\n".join(rows))
            i = end
            continue
        elif not line.strip():
            flush()
        elif line.startswith(("    ", "\t")) and not paragraph:
            end = i
            while end < len(lines) and (lines[end].startswith(("    ", "\t")) or not lines[end].strip()):
                end += 1
            builder.lines("\n".join(lines[i:end]))
            i = end
            continue
        else:
            if _ITEM.match(line):
                flush()
            paragraph.append(line.strip())
        i += 1
    flush()
    first = builder.headings[0].title if builder.headings else None
    return builder.build(title=first)
