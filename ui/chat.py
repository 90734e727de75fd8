"""The chat tab: one question at a time per conversation, answers shown once checked (what is
being done shown meanwhile) with their sources, Stop, follow-up suggestions, feedback, and the
`/ask` API (the same pipeline, as JSON)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

from assistant.settings import apply_process_defaults

apply_process_defaults()  # before Gradio and Chroma are imported

import gradio as gr  # noqa: E402

from assistant.library import CollectionError, Library  # noqa: E402
from assistant.models.llm import model_label  # noqa: E402
from assistant.models.providers import PROVIDERS  # noqa: E402
from assistant.models.stopping import StopSignal  # noqa: E402
from assistant.pipeline.chain import QuestionError  # noqa: E402
from assistant.prompts import message  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from ui.history import conversation_pairs  # noqa: E402
from ui.labels import browser_language, label, text  # noqa: E402
from ui.pdf_pages import render_quote  # noqa: E402
from ui.priority import ChatFirst  # noqa: E402
from ui.render import answer_html, plain_text, sources_panel, sources_section  # noqa: E402
from ui.request_log import log_answer  # noqa: E402
from ui.startup import Startup  # noqa: E402
from vectorstore.index.knowledge_base import KnowledgeBase  # noqa: E402
from vectorstore.language import detect_question_language  # noqa: E402

log = logging.getLogger(__name__)

# example questions written for the app, none of them from the evaluation question sets
EXAMPLES = [
    "What did an AI-generated picture of an explosion cause?",
    "Wat bedoelt het risico-overzicht met een 'dode internet'?",
    "Qui poursuit OpenAI en justice ?",
]

def pages_dir(settings: Settings) -> Path:
    """Where pictures of cited PDF pages are kept (served to the app's visitors)."""
    return settings.data_dir / "cache" / "pages"



def _history_pairs(history: list[dict]) -> list[tuple[str, str]]:
    """Gradio messages → (user, assistant) pairs; content may be a list of text blocks."""
    def text(content: Any) -> str:
        if isinstance(content, str):
            return plain_text(content)
        if isinstance(content, list):
            return " ".join(b.get("text", "") for b in content if isinstance(b, dict))
        if isinstance(content, dict):
            return str(content.get("text", ""))
        return ""

    return conversation_pairs((msg.get("role"), text(msg.get("content"))) for msg in history or [])



def _progress(text: str) -> dict:
    """The last message while the answer is being made: what is being done, not an answer."""
    return {"role": "assistant", "content": f'<span class="kb-progress">{escape(text)}</span>'}


class ChatTab:
    """The chat's state (who is waiting for an answer, who pressed Stop) and its handlers."""

    def __init__(self, library: Library, chat_first: ChatFirst, startup: Startup) -> None:
        self.library = library
        self.assistant = library.first  # the default collection's: start-up and the model
        self.startup = startup
        self.settings = self.assistant.settings
        self.chat_first = chat_first
        self.feedback_path = self.settings.data_dir / "feedback.jsonl"
        self.pages_dir = pages_dir(self.settings)
        self._feedback_lock = threading.Lock()
        # one question at a time per conversation: a session answering has a stop signal here
        self._stops: dict[str, StopSignal] = {}
        self._pending: dict[str, str] = {}
        self._sessions_lock = threading.Lock()

    def start(self, typed: str, history: list[dict], request: gr.Request):
        """A question sent: into the chat at once, Ask off and Stop on until it is answered.
        While this conversation waits for an answer another question stays in the box (it
        would otherwise take the first one's place); an empty box sends nothing."""
        question = (typed or "").strip()
        session = request.session_hash or ""
        with self._sessions_lock:
            busy = session in self._stops
            if question and not busy:
                self._stops[session] = StopSignal()
                self._pending[session] = question
        if busy:  # said next to the box: this step runs outside the queue, where gr.Info is lost
            notice = message(browser_language(request), "busy")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), \
                f'<p class="kb-progress">{escape(notice)}</p>'
        if not question:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""
        history = [*(history or []), {"role": "user", "content": question}]
        return "", history, gr.update(interactive=False), gr.update(visible=True), ""

    def chat(self, history: list[dict], sections: list[str], collection: str | None,
             request: gr.Request):
        """The question `start` accepted, answered from `collection`; then Ask back on and Stop
        away."""
        session = request.session_hash or ""
        with self._sessions_lock:
            question = self._pending.pop(session, None)
            stop = self._stops.get(session, StopSignal())
        if question is None:  # `start` turned this one away
            yield (gr.skip(),) * 6
            return
        try:
            with self.chat_first.chatting():
                for update in self._answer(question, list(history or []), list(sections or []), stop,
                                           browser_language(request), collection):
                    yield *update, gr.skip(), gr.skip()
        except Exception:  # never leave the conversation without its Ask button
            log.exception("chat failed")
            history = [*(history or []), {"role": "assistant", "content": "⚠️ internal error"}]
            yield history, gr.skip(), gr.skip(), "", gr.skip(), gr.skip()
        finally:
            with self._sessions_lock:
                self._stops.pop(session, None)
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.update(interactive=True), \
            gr.update(visible=False)

    def _answer(self, question: str, history: list[dict], sections: list[str],
                stop: StopSignal, visitor: str, collection: str | None = None) -> Iterator[tuple]:
        """(chat, sources panel, sections, meta) updates: the sources into a new section of the
        panel as soon as they are found, the earlier answers keeping theirs; in the last message
        what is being done (reading, writing — so many words —, checking), then the verified
        answer. What is shown as the answer stays: the model's draft is never shown, since the
        checks after it may remove a claim, put the source's own words in its place or turn it
        into an abstention, and a reader cannot unread a draft. Stop ends the answer at once:
        each step of the answer is pulled with the stop signal current, so a Stop aborts the
        model's request even while the model still reads the prompt
        (`assistant.models.stopping`), and the model is free for the next question. The chat's
        lines follow the question's language, the sources panel the `visitor`'s. The answer comes
        from `collection` (the default one when None)."""
        offered = [o.get("value") for m in history[-2:-1] for o in m.get("options") or ()]
        # a follow-up suggestion names its own topic: asked without the conversation before it
        pairs = [] if question in offered else _history_pairs(history[:-1])
        if question in offered:
            log.info("a follow-up suggestion was chosen; asked on its own")
        language = detect_question_language(question)
        try:
            assistant = self.library.get(collection)
        except CollectionError as exc:  # removed meanwhile, or named wrong through the API
            refusal = text(visitor, exc.reason, name=exc.name)
            history.append({"role": "assistant", "content": f"⚠️ {escape(refusal)}"})
            sections.append("")  # an empty section keeps the next answer's number in step
            yield history, sources_panel(sections, visitor), sections, ""
            return
        kb = assistant.kb
        msg = len(sections)
        history.append(_progress(message(language, "searching")))
        while (waiting := self.startup.waiting(language)) is not None:  # a first start
            if stop.is_set():  # an empty section keeps the next answer's number in step
                history[-1] = {"role": "assistant", "content": f"■ *{message(language, 'stopped')}*"}
                sections.append("")
                yield history, sources_panel(sections, visitor), sections, ""
                return
            history[-1] = _progress(waiting)
            yield history, gr.skip(), gr.skip(), gr.skip()
            self.assistant.ready.wait(0.5)
        history[-1] = _progress(message(language, "searching"))
        yield history, sources_panel(sections, visitor, message(visitor, "searching")), gr.skip(), \
            gr.skip()
        sections.append("")
        events = assistant.stream(question, pairs)
        hits: list = []
        words = 0
        try:
            while True:
                with stop.current():
                    event = next(events, None)
                if event is None:
                    break
                if stop.is_set():
                    events.close()  # GeneratorExit down to the model's HTTP stream
                    history[-1] = {"role": "assistant",
                                   "content": f"■ *{message(language, 'stopped')}*"}
                    yield history, sources_panel(sections, visitor), sections, ""
                    return
                if event.kind == "sources":
                    hits = event.data
                    sections[msg] = sources_section(None, hits, kb.document_text, msg, question,
                                                    visitor)
                    history[-1] = _progress(message(language, "reading"))
                    yield history, sources_panel(sections, visitor), sections, gr.skip()
                elif event.kind == "draft":
                    before, words = words, words + len(event.data.split())
                    if words // 5 > before // 5:  # every five words, not every token
                        history[-1] = _progress(message(language, "writing", words=str(words)))
                        yield history, gr.skip(), gr.skip(), gr.skip()
                elif event.kind == "checking":
                    history[-1] = _progress(message(language, "checking"))
                    yield history, gr.skip(), gr.skip(), gr.skip()
                else:
                    answer = event.data
                    log_answer("chat", answer, self.settings)
                    history[-1] = {"role": "assistant", "content": answer_html(answer, msg)}
                    sections[msg] = sources_section(
                        answer, hits, kb.document_text, msg, question, visitor,
                        lambda source_id, page, quote: self.page_image(kb, source_id, page, quote))
                    yield history, sources_panel(sections, visitor), sections, json.dumps(
                        {"backend": answer.backend, "model": answer.model, "k": self.settings.k,
                         "question": answer.question, "abstained": answer.abstained,
                         "unsure": answer.unsure,
                         "citations": len(answer.citations)})
                    suggestions = [] if answer.error else assistant.follow_ups(answer)
                    if suggestions:  # offered once the answer is shown: a few searches
                        history[-1] = {**history[-1], "options": [{"value": q} for q in suggestions]}
                        yield history, gr.skip(), gr.skip(), gr.skip()
        except QuestionError as exc:
            history[-1] = {"role": "assistant", "content": f"⚠️ {escape(exc.in_language(language))}"}
            yield history, sources_panel(sections[:-1], visitor), sections[:-1], ""

    def page_image(self, kb: KnowledgeBase, source_id: str, page: str, quote: str) -> str | None:
        """The URL of a PDF page's picture with the quote marked, rendered at the first answer
        that cites it and kept in `KENBRON_DATA_DIR/cache/pages`; None when there is none."""
        pdf = kb.original(source_id)
        if pdf is None:
            return None
        try:
            png = render_quote(pdf, page, quote, self.pages_dir)
        except Exception as exc:  # noqa: BLE001 - a page that cannot be drawn costs only its picture
            log.warning("could not render page %s of %s: %s", page, source_id, exc)
            return None
        return f"/gradio_api/file={png}" if png else None

    @staticmethod
    def pick(choice: gr.SelectData) -> str:
        """A follow-up suggestion under an answer, clicked: into the question box."""
        return str(choice.value)

    def stop(self, request: gr.Request) -> None:
        """Stop the answer this conversation waits for (see `_answer`)."""
        stop = self._stops.get(request.session_hash or "")
        if stop is not None:
            stop.stop()

    def about(self, language: str = "en", collection: str | None = None) -> str:
        """What answers and from what, in plain words (the settings behind it in brackets)."""
        s = self.settings
        try:
            kb = self.library.get(collection).kb
        except CollectionError:
            kb = self.assistant.kb
        docs = kb.documents()
        if self.assistant.chat is None:
            why = text(language, "about_no_model_space" if s.on_spaces else "about_no_model")
            who = text(language, "about_quoting", why=why)
        else:
            where = text(language, "about_api" if PROVIDERS[s.backend].remote else "about_local")
            who = text(language, "about_model", model=model_label(s, self.assistant.chat), where=where)
        rest = text(language, "about_rest", k=s.k, documents=len(docs),
                    chunks=sum(d.chunks for d in docs), embedding=kb.embedding, backend=s.backend)
        return f"<small>{who}{rest}</small>"

    def readiness(self, request: gr.Request) -> tuple[str, gr.Timer]:
        """A line saying what the start-up still does (the documents indexed so far, then the
        model loading), in the browser's language; gone once it is done."""
        waiting = self.startup.waiting(browser_language(request))
        if waiting is None:
            return "", gr.Timer(active=False)
        return f'<p class="kb-progress">{escape(waiting)}</p>', gr.Timer(active=True)

    def api_ask(self, question: str, history: str = "[]", collection: str = "") -> dict:
        """`/ask`: question, optional history (JSON list of [user, assistant] pairs or Gradio
        messages) and optional collection (the default one when empty) in; the Answer as JSON
        out."""
        try:
            raw = json.loads(history or "[]")
        except json.JSONDecodeError as exc:
            raise gr.Error(f"history must be JSON: {exc.msg}") from exc
        if raw and isinstance(raw[0], dict):
            pairs = _history_pairs(raw)
        else:
            pairs = [(str(u), str(a)) for u, a in raw]
        try:
            assistant = self.library.get(collection)
        except CollectionError as exc:
            raise gr.Error(text("en", exc.reason, name=exc.name)) from exc
        assistant.ready.wait()  # a first start: the corpus and the model (`ui.startup`)
        try:
            with self.chat_first.chatting():
                answer = assistant.ask(question, pairs)
        except QuestionError as exc:
            raise gr.Error(str(exc)) from exc
        log_answer("/ask", answer, self.settings)
        data = answer.to_dict()
        for hit in data["retrieved"]:
            hit.pop("ranks", None)
        return data

    @staticmethod
    def cleared(request: gr.Request) -> tuple[list, str, list, str]:
        """An empty conversation and sources panel."""
        return [], sources_panel([], browser_language(request)), [], ""

    def feedback(self, data: gr.LikeData, last: str, request: gr.Request) -> None:
        record = {"time": time.time(), "liked": data.liked, "message": data.value,
                  "index": data.index, "answer_meta": json.loads(last) if last else None}
        self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
        with self._feedback_lock, self.feedback_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        gr.Info(text(browser_language(request), "feedback_saved"))

    def layout(self, collection: gr.Dropdown) -> tuple[gr.Markdown, gr.HTML]:
        """The chat tab's components and events, asking within `collection`'s choice; returns
        the settings line and the sources panel (both written again on load, in the visitor's
        language)."""
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label=label("conversation"), height=480,
                                     buttons=["copy"], feedback_options=("Like", "Dislike"),
                                     elem_id="kb-chat")
                with gr.Row():
                    # no max_length: the browser would cut a long question without a word;
                    # the pipeline refuses it and says why (`pipeline.inputs.clean_question`)
                    box = gr.Textbox(label=label("question"), placeholder=label("placeholder"),
                                     show_label=False, scale=5, elem_id="kb-question")
                    send = gr.Button(label("ask"), variant="primary", scale=1, elem_id="kb-send")
                    stop = gr.Button(label("stop"), variant="stop", scale=1, visible=False, elem_id="kb-stop")
                notice = gr.HTML("", elem_id="kb-notice")
                with gr.Row():
                    clear = gr.Button(label("clear"), size="sm", elem_id="kb-clear")
                warming = gr.Markdown(self.readiness(None)[0], elem_id="kb-ready")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(sources_panel([]), elem_id="kb-sources")
        # below both columns: on a phone, where the columns stack, the sources come right
        # after the chat and the examples after them
        gr.Examples(EXAMPLES, inputs=box, label=label("examples"))
        about = gr.Markdown(self.about(), elem_id="kb-settings")
        last = gr.Textbox(visible=False)
        sections = gr.State([])
        ticks = gr.Timer(1.0, active=not self.assistant.ready.is_set())
        ticks.tick(self.readiness, None, [warming, ticks], api_name=False, queue=False)
        started = [box, chatbot, send, stop, notice]
        asked = gr.on([send.click, box.submit], self.start, [box, chatbot], started,
                      api_name=False, queue=False)
        # a follow-up suggestion clicked is asked as if typed (and waits in the box if busy)
        picked = chatbot.option_select(self.pick, None, box, api_name=False, queue=False).then(
            self.start, [box, chatbot], started, api_name=False, queue=False)
        for sent in (asked, picked):
            sent.then(self.chat, [chatbot, sections, collection],
                      [chatbot, sources, sections, last, send, stop], api_name=False)
        stop.click(self.stop, None, None, api_name=False, queue=False)
        clear.click(self.cleared, None, [chatbot, sources, sections, last], api_name=False)
        chatbot.like(self.feedback, [last], None, api_name=False)
        return about, sources
