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


def _details(n: int, ch, label: str, body: str, cited: bool, page: str | None = None) -> str:
    """One passage; a cited one names the page of its quote, an uncited one the pages it spans."""
    where = f"p. {page} · {ch.section}" if page and ch.section else (f"p. {page}" if page else "")
    meta = " · ".join(x for x in (ch.source_id, where or ch.location, ch.date, ch.language) if x)
    kind = "kb-cite kb-cited" if cited else "kb-cite kb-uncited"
    return (f"<details class='{kind}' id='source-{n}'{' open' if cited else ''}><summary><b>[{n}]</b> "
            f"{escape(ch.title)} <small>{escape(meta)}{f' · <i>{escape(label)}</i>' if label else ''}"
            "</small></summary>"
            f"<p class='kb-passage'>{body}</p></details>")


def sources_html(answer: Answer | None, hits: list[ScoredChunk], document_text) -> str:
    """Every retrieved passage: the cited ones first, open, with the quoted passage highlighted
    in its surrounding text; then the others, closed and marked as looked at but not cited — so
    a reader sees what the answer was built from, and on an abstention what was searched.

    Before the answer is verified (while streaming) the retrieved chunks are listed in rank
    order. `document_text(source_id)` returns a document's full text.
    """
    language = answer.language if answer else "en"
    parts = [f"<div class='kb-sources'><h3>{escape(message(language, 'sources'))}</h3>"]
    if answer is not None and answer.abstained:
        parts.append(f"<p class='kb-abstain'>{escape(answer.text)}</p>")
    retrieved = answer.retrieved if answer is not None else hits
    cited = {c.chunk_id: c for c in answer.citations} if answer is not None else {}
    for c in sorted(cited.values(), key=lambda c: c.n):
        hit = next((h for h in retrieved if h.chunk.chunk_id == c.chunk_id), None)
        text = document_text(c.source_id) or ""
        body = _highlighted(text, c.start, c.end) if text else f"<mark>{escape(c.quote)}</mark>"
        if hit is not None:
            parts.append(_details(c.n, hit.chunk, message(language, "cited"), body, cited=True,
                                  page=c.page))
    label = message(language, "not_cited") if answer is not None else ""
    for n, hit in enumerate(retrieved, start=1):
        if hit.chunk.chunk_id not in cited:
            parts.append(_details(n, hit.chunk, label, escape(hit.chunk.text), cited=False))
    parts.append("</div>")
    return "".join(parts)


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer (escaped) plus which backend answered."""
    text = escape(answer.text)
    if answer.error:
        return f"⚠️ {text}"
    return text
