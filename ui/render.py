"""HTML for the sources panel. Every piece of document text is escaped: documents are data,
and a document containing `<img onerror=…>` must show as text, never run."""

from __future__ import annotations

from html import escape

from assistant.answer import Answer
from assistant.prompts import message
from vectorstore.documents import ScoredChunk

CONTEXT_CHARS = 280


def _highlighted(document: str, start: int, end: int) -> str:
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(document), end + CONTEXT_CHARS)
    before, quote, after = document[lo:start], document[start:end], document[end:hi]
    return (("…" if lo else "") + escape(before) + f"<mark>{escape(quote)}</mark>" + escape(after)
            + ("…" if hi < len(document) else ""))


def sources_html(answer: Answer | None, hits: list[ScoredChunk], document_text) -> str:
    """Cited sources with the quoted passage highlighted in its surrounding text.

    Before the answer is verified (while streaming) the retrieved chunks are listed instead.
    `document_text(source_id)` returns a document's full text.
    """
    language = answer.language if answer else "en"
    title = escape(message(language, "sources"))
    if answer is not None and answer.abstained:
        return (f"<div class='kb-sources'><h3>{title}</h3>"
                f"<p class='kb-abstain'>{escape(answer.text)}</p></div>")
    parts = [f"<div class='kb-sources'><h3>{title}</h3>"]
    if answer is not None and answer.citations:
        for c in answer.citations:
            hit = next((h for h in answer.retrieved if h.chunk.chunk_id == c.chunk_id), None)
            meta = " · ".join(x for x in (c.source, hit and hit.chunk.date, hit and hit.chunk.language) if x)
            text = document_text(c.source) or ""
            body = _highlighted(text, c.start, c.end) if text else f"<mark>{escape(c.quote)}</mark>"
            parts.append(
                f"<details class='kb-cite' id='cite-{c.n}' open><summary><b>[{c.n}]</b> "
                f"{escape(c.title)} <small>{escape(meta)}</small></summary>"
                f"<p class='kb-passage'>{body}</p></details>")
    else:
        for n, hit in enumerate(hits, start=1):
            ch = hit.chunk
            meta = " · ".join(x for x in (ch.source_id, ch.date, ch.language) if x)
            parts.append(
                f"<details class='kb-cite'><summary><b>[{n}]</b> {escape(ch.title)} "
                f"<small>{escape(meta)}</small></summary><p class='kb-passage'>{escape(ch.text)}</p>"
                f"</details>")
    parts.append("</div>")
    return "".join(parts)


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer (escaped) plus which backend answered."""
    text = escape(answer.text)
    if answer.error:
        return f"⚠️ {text}"
    return text
