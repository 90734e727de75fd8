"""HTML for answers and their sources. Every piece of document text is escaped: documents are
data, and a document containing `<img onerror=…>` must show as text, never run.

Each answer of a conversation keeps its own sources: the panel holds one section per answer
(`kb-m<msg>`), the latest shown, and every `[n]` marker of an answer is a link to its source's
passage in that answer's section, to the very sentence it stands for (`kb-m<msg>-s<n>-q<j>`).
The page's script (`MARKER_SCRIPT`) shows the section, opens the passage and highlights the
sentence; hover or focus on a marker shows the source's title, place and quote.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from html import escape, unescape

from assistant.answer import Answer, Citation
from assistant.prompts import message
from ui.labels import text
from vectorstore.documents import ScoredChunk

CONTEXT_CHARS = 280
_MARKER = re.compile(r"\[(\d{1,3})\]")
TIP_CLASS = "kb-tip"
# the chat renders Markdown: a quoted "[text](url)" would become a link inside the marker's link
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "[]()*_`~\\"})
_TIP = re.compile(rf"<span class='{TIP_CLASS}'>[^<]*</span>")
_TAG = re.compile(r"<[^>]+>")

# delegated, so it works for messages rendered later; capture phase, so the chat's own link
# handling (a new tab) never sees a marker. The chat's sanitiser keeps only a link's class and
# href, so the href is what names the answer, the passage and the sentence.
MARKER_SCRIPT = """<script>
(() => {
  function show(a) {
    const m = (a.getAttribute('href') || '').match(/^#(kb-m(\\d+)-s\\d+)-q\\d+$/);
    const panel = document.getElementById('kb-sources');
    if (!m || !panel) return;
    panel.querySelectorAll('section.kb-msg').forEach(s => { s.hidden = s.dataset.msg !== m[2]; });
    panel.querySelectorAll('mark.kb-focus').forEach(x => x.classList.remove('kb-focus'));
    const passage = document.getElementById(m[1]);
    if (!passage) return;
    passage.open = true;
    const mark = document.getElementById(m[0].slice(1)) || passage;
    mark.classList.add('kb-focus');
    mark.scrollIntoView({block: 'center'});
  }
  document.addEventListener('click', e => {
    const a = e.target.closest && e.target.closest('a.kb-marker');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    show(a);
  }, true);
  // the tip opens inside the chat box, as wide as it allows, shifted left or right to fit, and
  // above its marker when it fits there (below a marker sit the message's copy and like
  // buttons): measured once shown, since its size depends on its text and the screen
  function place(e) {
    const a = e.target.closest && e.target.closest('a.kb-marker');
    const chat = document.getElementById('kb-chat');
    const tip = a && a.querySelector('.kb-tip');
    if (!tip || !chat) return;
    const room = chat.getBoundingClientRect(), at = a.getBoundingClientRect();
    const width = Math.min(416, room.width - 16);
    const left = Math.max(room.left + 8, Math.min(at.left, room.right - 8 - width));
    tip.style.maxWidth = width + 'px';
    tip.style.left = (left - at.left) + 'px';
    tip.style.right = 'auto';
    a.classList.add('kb-tip-measure');
    const height = tip.getBoundingClientRect().height;
    a.classList.remove('kb-tip-measure');
    a.classList.toggle('kb-tip-up', at.top - room.top > height + 12);
  }
  document.addEventListener('mouseover', place, true);
  document.addEventListener('focusin', place, true);
})();
</script>"""


def _section_id(msg: int) -> str:
    return f"kb-m{msg}"


def _source_id(msg: int, n: int) -> str:
    return f"kb-m{msg}-s{n}"


def _quote_spans(c: Citation) -> tuple[list[tuple[int, int]], list[int]]:
    """The distinct sentences a citation quotes, in document order, and for each of its quotes
    (answer order) the index of its sentence there: two answer sentences may cite one."""
    quotes = c.quotes or ()
    spans = sorted({(q.start, q.end) for q in quotes} or {(c.start, c.end)})
    return spans, [spans.index((q.start, q.end)) for q in quotes]


def _highlighted(document: str, spans: list[tuple[int, int]], mark_id: Callable[[int], str]) -> str:
    """The document around the quoted sentences, each sentence its own `<mark>`."""
    lo = max(0, spans[0][0] - CONTEXT_CHARS)
    hi = min(len(document), max(end for _, end in spans) + CONTEXT_CHARS)
    parts, pos = ["…" if lo else ""], lo
    for j, (start, end) in enumerate(spans):
        if start < pos:  # overlapping sentences cannot come from one splitter; be safe anyway
            continue
        parts += [escape(document[pos:start]),
                  f"<mark id='{mark_id(j)}'>{escape(document[start:end])}</mark>"]
        pos = end
    parts += [escape(document[pos:hi]), "…" if hi < len(document) else ""]
    return "".join(parts)


def _details(source_id: str, n: int, ch, label: str, body: str, cited: bool, language: str,
             page: str | None = None, after: str = "") -> str:
    """One passage; a cited one names the page of its quote, an uncited one the pages it spans."""
    where = " · ".join(x for x in (text(language, "page", page=page), ch.section) if x) if page else ""
    meta = " · ".join(x for x in (ch.source_id, where or ch.location, ch.date, ch.language) if x)
    kind = "kb-cite kb-cited" if cited else "kb-cite kb-uncited"
    return (f"<details class='{kind}' id='{source_id}'{' open' if cited else ''}><summary>"
            f"<b>[{n}]</b> {escape(ch.title)} <small>{escape(meta)}"
            f"{f' · <i>{escape(label)}</i>' if label else ''}</small></summary>"
            f"<p class='kb-passage'>{body}</p>{after}</details>")


PageImage = Callable[[str, str, str], str | None]  # (source id, page label, quote) -> image URL


def _page_views(c: Citation, page_image: PageImage | None, language: str) -> str:
    """A PDF citation's pages as printed, one picture per quoted sentence with it marked."""
    if page_image is None:
        return ""
    parts = []
    for q in dict.fromkeys(c.quotes or ()) or ():
        if not q.page:
            continue
        url = page_image(c.source_id, q.page, q.text)
        if url:
            alt = text(language, "page_alt", page=q.page, title=c.title or c.source_id)
            summary = text(language, "page_as_printed", page=q.page)
            parts.append(f"<details class='kb-page-view'><summary>{escape(summary)}"
                         f"</summary><img loading='lazy' src='{escape(url)}' alt='{escape(alt)}'>"
                         "</details>")
    return "".join(parts)


def sources_section(answer: Answer | None, hits: Sequence[ScoredChunk],
                    document_text: Callable[[str], str | None], msg: int, question: str,
                    language: str, page_image: PageImage | None = None) -> str:
    """One answer's sources: the cited passages first, open, with every quoted sentence
    highlighted in its surrounding text; then the others, closed and marked as looked at but
    not cited — so a reader sees what the answer was built from, and on an abstention what was
    searched. Before the answer is verified (while streaming) the retrieved chunks are listed
    in rank order. `document_text(source_id)` returns a document's full text; `page_image`,
    when given, the picture of a PDF page with a quote marked. Its words are in `language`,
    the visitor's."""
    parts = [f"<p class='kb-msg-label'><small>{escape(message(language, 'answer_no', n=str(msg + 1)))}"
             f" · {escape(question)}</small></p>"]
    if answer is not None and answer.abstained:
        parts.append(f"<p class='kb-abstain'>{escape(answer.text)}</p>")
    retrieved = answer.retrieved if answer is not None else hits
    cited = {c.chunk_id: c for c in answer.citations} if answer is not None else {}
    for c in sorted(cited.values(), key=lambda c: c.n):
        hit = next((h for h in retrieved if h.chunk.chunk_id == c.chunk_id), None)
        if hit is None:
            continue
        document = document_text(c.source_id) or ""
        spans, _ = _quote_spans(c)
        sid = _source_id(msg, c.n)
        body = (_highlighted(document, spans, lambda j, sid=sid: f"{sid}-q{j}") if document
                else f"<mark id='{sid}-q0'>{escape(c.quote)}</mark>")
        parts.append(_details(sid, c.n, hit.chunk, message(language, "cited"), body, cited=True,
                              language=language, page=c.page,
                              after=_page_views(c, page_image, language)))
    label = message(language, "not_cited") if answer is not None else ""
    for n, hit in enumerate(retrieved, start=1):
        if hit.chunk.chunk_id not in cited:
            parts.append(_details(_source_id(msg, n), n, hit.chunk, label,
                                  escape(hit.chunk.text), cited=False, language=language))
    return "".join(parts)


def sources_panel(sections: Sequence[str], language: str = "en", note: str = "") -> str:
    """The panel: every answer's section, the latest shown; `note` stands above them (what is
    happening while a new question is searched)."""
    parts = [f"<div class='kb-sources' role='region' aria-live='polite' "
             f"aria-label='{escape(message(language, 'sources'))}'>"
             f"<h3>{escape(message(language, 'sources'))}</h3>"]
    if note:
        parts.append(f"<p class='kb-note'>{escape(note)}</p>")
    elif not sections:
        parts.append(f"<p>{escape(text(language, 'sources_empty'))}</p>")
    last = len(sections) - 1
    for msg, body in enumerate(sections):
        hidden = "" if msg == last and not note else " hidden"
        parts.append(f"<section class='kb-msg' id='{_section_id(msg)}' data-msg='{msg}'{hidden}>"
                     f"{body}</section>")
    parts.append("</div>")
    return "".join(parts)


def _marker(c: Citation, msg: int, occurrence: int, language: str) -> str:
    """`[n]` as a link to the sentence it stands for, with a tip (shown on hover and focus, read
    by screen readers as part of the link) naming the source, its place and the quote."""
    _, mark_of = _quote_spans(c)
    j = mark_of[occurrence] if occurrence < len(mark_of) else (mark_of[0] if mark_of else 0)
    own = c.quotes[occurrence] if occurrence < len(c.quotes) else None
    quote = own.text if own else c.quote
    place = replace(c, page=own.page if own else c.page).location.removeprefix(c.source_id).lstrip(", ")
    where = " · ".join(x for x in (c.title or c.source_id, place) if x)
    tip = f"{message(language, 'source')} {c.n}: {where} — “{' '.join(quote.split())}”"
    return (f"<a class='kb-marker' href='#{_source_id(msg, c.n)}-q{j}'>[{c.n}]"
            f"<span class='{TIP_CLASS}'>{escape(tip).translate(_MARKDOWN)}</span></a>")


def plain_text(html: str) -> str:
    """A chat message as text again (for the conversation's history): tips and tags removed."""
    return unescape(_TAG.sub("", _TIP.sub("", html)))


def answer_html(answer: Answer, msg: int) -> str:
    """The chat message: the answer (escaped), each verified marker a link to its passage."""
    text = escape(answer.text)
    if answer.error:
        return f"⚠️ {text}"
    cited = {c.n: c for c in answer.citations}
    seen: Counter[int] = Counter()

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in cited:
            return m.group(0)
        seen[n] += 1
        return _marker(cited[n], msg, seen[n] - 1, answer.language)

    return _MARKER.sub(link, text)
