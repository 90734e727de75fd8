"""The Gradio app: chat with streamed, cited answers; documents; evaluation; an `/ask` API.

A thin layer over `assistant.chain.Assistant` and the knowledge base's public methods.
Uploads and removals change what every visitor sees, so they are governed by
`KENBRON_UPLOADS`: `open` (anyone; the local default), `password` (visitors type
`KENBRON_ADMIN_PASSWORD` in the documents tab), or `off` (the default on Hugging Face Spaces
unless a password is set).
"""

from __future__ import annotations

import hmac
import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

from assistant.settings import apply_process_defaults

apply_process_defaults()  # before Gradio and Chroma are imported

import gradio as gr  # noqa: E402

from assistant.chain import Assistant, QuestionError  # noqa: E402
from assistant.llm import model_label  # noqa: E402
from assistant.prompts import message  # noqa: E402
from assistant.settings import BUNDLED_CORPUS, REPO_ROOT, Settings  # noqa: E402
from ui.labels import label  # noqa: E402
from ui.priority import ChatFirst  # noqa: E402
from ui.render import MARKER_SCRIPT, answer_html, plain_text, sources_panel, sources_section  # noqa: E402
from ui.request_log import log_answer  # noqa: E402
from vectorstore.language import detect_question_language  # noqa: E402
from vectorstore.loaders import SUPPORTED_SUFFIXES  # noqa: E402
from vectorstore.pdf_pages import render_quote  # noqa: E402

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_S = 3

# example questions written for the app, none of them from the evaluation question sets
EXAMPLES = [
    "What did an AI-generated picture of an explosion cause?",
    "Wat bedoelt het risico-overzicht met een 'dode internet'?",
    "Qui poursuit OpenAI en justice ?",
]
CSS = """
.kb-sources mark {background: #ffe58a; padding: 0 2px;}
.kb-sources details {border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 6px 10px; margin: 6px 0;}
.kb-page-view img {max-width: 100%; border: 1px solid var(--border-color-primary);}
.kb-passage {white-space: pre-wrap; font-size: 0.92em; line-height: 1.45;}
.kb-abstain {font-style: italic;}
.kb-uncited summary {opacity: 0.7;}
#kb-send, #kb-ingest {background: #b43c0a; border-color: #b43c0a; color: #fff;}
#kb-stop, #kb-remove, #kb-remove-confirm, #kb-cancel-eval {background: #b91c1c; border-color: #b91c1c;
  color: #fff;}
#kb-question textarea::placeholder {color: #5f6672; opacity: 1;}
.kb-sources mark.kb-focus {outline: 2px solid #b35900; background: #ffd04d;}
a.kb-marker {position: relative; text-decoration: none; font-weight: 600; color: #1d4ed8;}
#kb-chat .message-row:has(a.kb-marker:hover), #kb-chat .message-row:has(a.kb-marker:focus) {
  z-index: 30;}
a.kb-marker .kb-tip {position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap;}
a.kb-marker:hover .kb-tip, a.kb-marker:focus .kb-tip {right: 0; top: 1.4em; z-index: 20;
  width: max-content; max-width: min(26rem, 80vw); height: auto; overflow: visible; clip-path: none;
  white-space: normal; font-weight: 400; font-size: 0.85rem; line-height: 1.35; color: #111;
  background: #fff; border: 1px solid #888; border-radius: 6px; padding: 6px 8px;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.2);}
"""


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

    pairs: list[tuple[str, str]] = []
    for msg in history or []:
        role, content = msg.get("role"), text(msg.get("content"))
        if role == "user":
            pairs.append((content, ""))
        elif role == "assistant" and pairs:
            pairs[-1] = (pairs[-1][0], content)
    return pairs


class EvaluationCancelled(Exception):
    """Raised between two evaluation questions once an admin pressed Cancel."""


class KenbronUI:
    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.kb = assistant.kb
        self.feedback_path = self.settings.data_dir / "feedback.jsonl"
        self.pages_dir = pages_dir(self.settings)
        self._feedback_lock = threading.Lock()
        # one question at a time per conversation: a session answering has a stop flag here
        self._stops: dict[str, threading.Event] = {}
        self._pending: dict[str, str] = {}
        self.chat_first = ChatFirst()
        self._eval_cancelled = threading.Event()
        self._sessions_lock = threading.Lock()

    # --- chat --------------------------------------------------------------------------------

    def start(self, message: str, history: list[dict], request: gr.Request):
        """A question sent: into the chat at once, Ask off and Stop on until it is answered.
        While this conversation waits for an answer another question stays in the box (it
        would otherwise take the first one's place); an empty box sends nothing."""
        question = (message or "").strip()
        session = request.session_hash or ""
        with self._sessions_lock:
            busy = session in self._stops
            if question and not busy:
                self._stops[session] = threading.Event()
                self._pending[session] = question
        if busy:
            gr.Info("Wait for the answer, or press Stop.")
        if not question or busy:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        history = [*(history or []), {"role": "user", "content": question}]
        return "", history, gr.update(interactive=False), gr.update(visible=True)

    def chat(self, history: list[dict], sections: list[str], request: gr.Request):
        """The question `start` accepted, answered; then Ask back on and Stop away."""
        session = request.session_hash or ""
        with self._sessions_lock:
            question = self._pending.pop(session, None)
            stop = self._stops.get(session, threading.Event())
        if question is None:  # `start` turned this one away
            yield (gr.skip(),) * 6
            return
        try:
            with self.chat_first.chatting():
                for update in self._answer(question, list(history or []), list(sections or []), stop):
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
                stop: threading.Event) -> Iterator[tuple]:
        """(chat, sources panel, sections, meta) updates: the answer streamed into the last
        message and its sources into a new section of the panel, the earlier answers keeping
        theirs. Stop ends the answer at the model's next token: closing the stream closes the
        model's request, so the model is free for the next question."""
        offered = [o.get("value") for m in history[-2:-1] for o in m.get("options") or ()]
        # a follow-up suggestion names its own topic: asked without the conversation before it
        pairs = [] if question in offered else _history_pairs(history[:-1])
        if question in offered:
            log.info("a follow-up suggestion was chosen; asked on its own")
        language = detect_question_language(question)
        msg = len(sections)
        yield history, sources_panel(sections, note=message(language, "searching")), gr.skip(), gr.skip()
        sections.append("")
        events = self.assistant.stream(question, pairs)
        history.append({"role": "assistant", "content": ""})
        hits: list = []
        text = ""
        try:
            for event in events:
                if stop.is_set():
                    events.close()  # GeneratorExit down to the model's HTTP stream
                    stopped = f"■ *{message(language, 'stopped')}*"
                    history[-1] = {"role": "assistant", "content": f"{escape(text)} {stopped}".strip()}
                    yield history, sources_panel(sections), sections, ""
                    return
                if event.kind == "sources":
                    hits = event.data
                    sections[msg] = sources_section(None, hits, self.kb.document_text, msg, question)
                    yield history, sources_panel(sections), sections, gr.skip()
                elif event.kind == "token":
                    text += event.data
                    history[-1] = {"role": "assistant", "content": escape(text)}
                    yield history, gr.skip(), gr.skip(), gr.skip()
                else:
                    answer = event.data
                    log_answer("chat", answer, self.settings)
                    history[-1] = {"role": "assistant", "content": answer_html(answer, msg)}
                    sections[msg] = sources_section(answer, hits, self.kb.document_text, msg, question,
                                                    self.page_image)
                    yield history, sources_panel(sections, answer.language), sections, json.dumps(
                        {"backend": answer.backend, "model": answer.model, "k": self.settings.k,
                         "question": answer.question, "abstained": answer.abstained,
                         "citations": len(answer.citations)})
                    suggestions = [] if answer.error else self.assistant.follow_ups(answer)
                    if suggestions:  # offered once the answer is shown: a few searches
                        history[-1] = {**history[-1], "options": [{"value": q} for q in suggestions]}
                        yield history, gr.skip(), gr.skip(), gr.skip()
        except QuestionError as exc:
            history[-1] = {"role": "assistant", "content": f"⚠️ {escape(str(exc))}"}
            yield history, sources_panel(sections[:-1]), sections[:-1], ""

    def page_image(self, source_id: str, page: str, quote: str) -> str | None:
        """The URL of a PDF page's picture with the quote marked, rendered at the first answer
        that cites it and kept in `KENBRON_DATA_DIR/cache/pages`; None when there is none."""
        pdf = self.kb.original(source_id)
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
            stop.set()

    def about(self) -> str:
        """What answers and from what, in plain words (the settings behind it in brackets)."""
        s = self.settings
        docs = self.kb.documents()
        if self.assistant.chat is None:
            who = "quoting the best-supported source sentences " + (
                "(no local model on this Space and no API secret set)" if s.on_spaces
                else "(no language model)")
        else:
            where = "on this machine" if s.backend == "local" else "through an API"
            who = f"the language model **{model_label(s, self.assistant.chat)}** ({where})"
        return (f"<small>Answers by {who}, from the {s.k} best-matching passages of "
                f"{len(docs)} documents ({sum(d.chunks for d in docs)} passages) · search: "
                f"{self.kb.embedding} embeddings and keywords · backend `{s.backend}`</small>")

    def readiness(self) -> tuple[str, gr.Timer]:
        """A line saying the model is still loading (the start-up warm-up), gone once it is."""
        if self.assistant.ready.is_set():
            return "", gr.Timer(active=False)
        return ("<small>⏳ Loading the model and the search index: a question asked now waits "
                "for them.</small>", gr.Timer(active=True))

    def api_ask(self, question: str, history: str = "[]") -> dict:
        """`/ask`: question and optional history (JSON list of [user, assistant] pairs or
        Gradio messages) in; the Answer as JSON out."""
        try:
            raw = json.loads(history or "[]")
        except json.JSONDecodeError as exc:
            raise gr.Error(f"history must be JSON: {exc.msg}") from exc
        if raw and isinstance(raw[0], dict):
            pairs = _history_pairs(raw)
        else:
            pairs = [(str(u), str(a)) for u, a in raw]
        try:
            with self.chat_first.chatting():
                answer = self.assistant.ask(question, pairs)
        except QuestionError as exc:
            raise gr.Error(str(exc)) from exc
        log_answer("/ask", answer, self.settings)
        data = answer.to_dict()
        for hit in data["retrieved"]:
            hit.pop("ranks", None)
        return data

    def feedback(self, data: gr.LikeData, last: str) -> None:
        record = {"time": time.time(), "liked": data.liked, "message": data.value,
                  "index": data.index, "answer_meta": json.loads(last) if last else None}
        self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
        with self._feedback_lock, self.feedback_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        gr.Info("Thanks — feedback saved.")

    # --- documents ---------------------------------------------------------------------------

    def documents_table(self) -> list[list[Any]]:
        return [[d.title, d.language, d.date or "", d.pages or "", d.chunks, d.source_id]
                for d in self.kb.documents()]

    def _allowed(self, password: str) -> None:
        policy = self.settings.uploads
        if policy == "off":
            raise gr.Error("Uploads and removals are disabled on this deployment "
                           "(set KENBRON_UPLOADS or KENBRON_ADMIN_PASSWORD).")
        if policy == "password":
            expected = self.settings.admin_password or ""
            if not expected or not hmac.compare_digest(password or "", expected):
                raise gr.Error("Wrong or missing admin password.")

    def upload(self, files: list[str] | None, password: str,
               progress=gr.Progress()):  # noqa: B008 - Gradio injects progress this way
        self._allowed(password)
        if not files:
            raise gr.Error("Choose one or more files first.")
        rows = []
        with tempfile.TemporaryDirectory(prefix="kenbron-upload-") as tmp:
            paths = []
            for f in files:
                # keep only the base name: an uploaded name cannot point anywhere else
                name = Path(str(f)).name.replace("\x00", "")
                target = Path(tmp) / name
                shutil.copyfile(f, target)
                paths.append(target)
            seen = {"files": (0, len(paths)), "chunks": (0, 0)}

            def on_progress(stage: str, done: int, total: int) -> None:
                """Files read and chunks embedded, both: one file's chunks take minutes."""
                seen[stage] = (done, total)
                (files_done, files_total), (chunks_done, chunks_total) = seen["files"], seen["chunks"]
                desc = f"files read {files_done}/{files_total}"
                if chunks_total:
                    desc += f" · chunks embedded {chunks_done}/{chunks_total}"
                progress(chunks_done / chunks_total if chunks_total else files_done / max(files_total, 1),
                         desc=desc)

            on_progress("files", 0, len(paths))
            report = self.kb.ingest(paths, progress=on_progress)
        for sid in report.added:
            rows.append([sid, "added", ""])
        for sid in report.updated:
            rows.append([sid, "updated", ""])
        for sid in report.skipped:
            rows.append([sid, "unchanged", ""])
        for path, reason in report.rejected:
            rows.append([Path(path).name, "rejected", reason])
        return rows

    def ask_removal(self, source_id: str | None, password: str):
        """The first step of a removal: name what would go, and ask."""
        self._allowed(password)
        doc = next((d for d in self.kb.documents() if d.source_id == source_id), None)
        if doc is None:
            raise gr.Error("Choose a document to remove.")
        return (gr.update(value=f"Remove **{escape(doc.title)}** ({escape(doc.source_id)}, "
                                f"{doc.chunks} chunks) for every visitor?", visible=True),
                gr.update(visible=True))

    def remove(self, source_id: str, password: str):
        self._allowed(password)
        if not source_id:
            raise gr.Error("Choose a document to remove.")
        try:
            n = self.kb.remove(source_id)
        except KeyError as exc:
            raise gr.Error(f"{source_id} is not ingested.") from exc
        gr.Info(f"Removed {source_id} ({n} chunks).")
        return ([[source_id, "removed", f"{n} chunks"]], self.documents_table(), self._choices(),
                gr.update(visible=False), gr.update(visible=False))

    def _choices(self):
        """The removal list: titles shown, source ids chosen, nothing preselected."""
        return gr.update(choices=[(f"{d.title} ({d.source_id})", d.source_id)
                                  for d in self.kb.documents()], value=None)

    # --- evaluation --------------------------------------------------------------------------

    def eval_view(self) -> tuple[str, list[str]]:
        """The latest report's text (without the per-question failures) and its charts."""
        found = self.eval_dir()
        if found is None:
            return ("No evaluation report yet. Run it below, or `kenbron eval --questions "
                    f"eval/questions.dev.jsonl --out {self.settings.data_dir / 'eval'}`.", [])
        text = (found / "report.md").read_text(encoding="utf-8").split("## Failures")[0]
        return text, [str(p) for p in sorted(found.glob("*.png"))]

    def run_evaluation(self, password: str, progress=gr.Progress()) -> str:  # noqa: B008
        """The dev set through this app's assistant, one progress step per question, each
        question only once no chat answer is being written; the report goes to
        `KENBRON_DATA_DIR/eval` and replaces the one shown. Cancel stops it between two
        questions and leaves the report shown as it was."""
        from assistant.evaluation import evaluate
        from assistant.questions import load_questions

        self._allowed(password)
        self._eval_cancelled.clear()
        questions = load_questions(REPO_ROOT / "eval" / "questions.dev.jsonl")

        def step(done: int, total: int) -> None:
            progress(done / total, desc=f"evaluating {done}/{total} questions")
            self.chat_first.wait_for_chats(self._eval_cancelled)
            if self._eval_cancelled.is_set():
                raise EvaluationCancelled(f"Evaluation cancelled after {done} of {total} questions; "
                                          "the report shown is unchanged.")

        try:
            step(0, len(questions))
            _, report = evaluate(self.assistant, questions, self.settings.data_dir / "eval",
                                 progress=step)
        except EvaluationCancelled as exc:
            return str(exc)
        overall = report["overall"]
        return (f"Evaluated {overall['questions']} questions: answer accuracy "
                f"{overall['answer_accuracy']:.2f}, citation precision {overall['citation_precision']:.2f}.")

    def cancel_evaluation(self, password: str) -> None:
        self._allowed(password)
        self._eval_cancelled.set()

    def is_admin(self, password: str):
        """Show the evaluation's controls to an admin only (see `_allowed`)."""
        try:
            self._allowed(password)
        except gr.Error:
            return gr.update(visible=False)
        return gr.update(visible=True)

    def eval_dir(self) -> Path | None:
        for candidate in (self.settings.data_dir / "eval", REPO_ROOT / "eval" / "report"):
            if (candidate / "report.md").is_file():
                return candidate
        return None

    # --- layout ------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="Kenbron") as demo:
            gr.Markdown(label("intro"))
            with gr.Tab(label("chat"), id="chat"):
                about = self._chat_tab()
            with gr.Tab(label("documents"), id="documents"):
                table, choice = self._documents_tab()
            with gr.Tab(label("evaluation"), id="evaluation"):
                self._evaluation_tab()
            demo.load(lambda: (self.documents_table(), self._choices(), self.about()), None,
                      [table, choice, about], api_name=False)
            gr.api(self.api_ask, api_name="ask")
        return demo

    def _chat_tab(self) -> gr.Markdown:
        s = self.settings
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label=label("conversation"), height=480,
                                     buttons=["copy"], feedback_options=("Like", "Dislike"),
                                     elem_id="kb-chat")
                with gr.Row():
                    box = gr.Textbox(label=label("question"), placeholder=label("placeholder"),
                                     show_label=False, scale=5, elem_id="kb-question",
                                     max_length=s.max_question_chars)
                    send = gr.Button(label("ask"), variant="primary", scale=1, elem_id="kb-send")
                    stop = gr.Button(label("stop"), variant="stop", scale=1, visible=False, elem_id="kb-stop")
                with gr.Row():
                    clear = gr.Button(label("clear"), size="sm", elem_id="kb-clear")
                gr.Examples(EXAMPLES, inputs=box, label=label("examples"))
                about = gr.Markdown(self.about(), elem_id="kb-settings")
                warming = gr.Markdown(self.readiness()[0], elem_id="kb-ready")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(sources_panel([]), elem_id="kb-sources")
        last = gr.Textbox(visible=False)
        sections = gr.State([])
        ticks = gr.Timer(1.0, active=not self.assistant.ready.is_set())
        ticks.tick(self.readiness, None, [warming, ticks], api_name=False, queue=False)
        asked = gr.on([send.click, box.submit], self.start, [box, chatbot], [box, chatbot, send, stop],
                      api_name=False, queue=False)
        # a follow-up suggestion clicked is asked as if typed (and waits in the box if busy)
        picked = chatbot.option_select(self.pick, None, box, api_name=False, queue=False).then(
            self.start, [box, chatbot], [box, chatbot, send, stop], api_name=False, queue=False)
        for sent in (asked, picked):
            sent.then(self.chat, [chatbot, sections], [chatbot, sources, sections, last, send, stop],
                      api_name=False)
        stop.click(self.stop, None, None, api_name=False, queue=False)
        clear.click(lambda: ([], sources_panel([]), [], ""), None, [chatbot, sources, sections, last],
                    api_name=False)
        chatbot.like(self.feedback, [last], None, api_name=False)
        return about

    def _documents_tab(self) -> tuple[gr.Dataframe, gr.Dropdown]:
        policy = self.settings.uploads
        table = gr.Dataframe(self.documents_table(), interactive=False, elem_id="kb-docs",
                             headers=["title", "language", "date", "pages", "chunks", "file"],
                             label=label("ingested"), wrap=True)
        with gr.Group(visible=policy != "off"):
            password = gr.Textbox(label=label("password"), type="password",
                                  visible=policy == "password")
            files = gr.File(label=label("add"),
                            file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                            elem_id="kb-upload")
            upload_btn = gr.Button(label("ingest"), variant="primary", elem_id="kb-ingest")
            results = gr.Dataframe(headers=["file", "result", "details"], interactive=False,
                                   label=label("results"), elem_id="kb-upload-results", wrap=True)
            with gr.Row():
                choice = gr.Dropdown([], value=None, label=label("remove_choice"), elem_id="kb-remove-choice")
                remove_btn = gr.Button(label("remove"), variant="stop", elem_id="kb-remove")
            confirm_text = gr.Markdown(visible=False, elem_id="kb-remove-confirm-text")
            with gr.Row(visible=False) as confirm_row:
                confirm_btn = gr.Button(label("confirm"), variant="stop", elem_id="kb-remove-confirm")
                keep_btn = gr.Button(label("keep"), elem_id="kb-remove-keep")
        if policy == "off":
            gr.Markdown("Uploads and removals are disabled on this deployment.")
        else:
            # one change to the documents at a time, the next shown as queued with its place;
            # chat events have their own slots, so questions are answered meanwhile
            # the progress bar covers only the results, so the table stays readable meanwhile
            upload_btn.click(self.upload, [files, password], results, api_name="ingest",
                             concurrency_id="documents", concurrency_limit=1).then(
                lambda: (self.documents_table(), self._choices()), None, [table, choice],
                api_name=False)
            remove_btn.click(self.ask_removal, [choice, password], [confirm_text, confirm_row],
                             api_name=False, queue=False)
            keep_btn.click(lambda: (gr.update(visible=False), gr.update(visible=False)), None,
                           [confirm_text, confirm_row], api_name=False, queue=False)
            confirm_btn.click(self.remove, [choice, password],
                              [results, table, choice, confirm_text, confirm_row], api_name=False,
                              concurrency_id="documents", concurrency_limit=1)
        return table, choice

    def _evaluation_tab(self) -> None:
        report_md, charts = self.eval_view()
        # charts first: below the long report the gallery's lazy images stay unloaded
        # until scrolled to, and the tab looked like three empty frames
        gallery = gr.Gallery(charts, columns=3, label=label("charts"), height="auto",
                             elem_id="kb-charts", visible=bool(charts))
        report_view = gr.Markdown(report_md, elem_id="kb-report")
        policy = self.settings.uploads
        # an evaluation takes the model for up to an hour: only an admin may start one
        with gr.Row(visible=policy != "off", equal_height=True):
            eval_password = gr.Textbox(label=label("password"), type="password",
                                       visible=policy == "password", scale=2)
            with gr.Column(scale=3):
                run_eval = gr.Button(label("run_eval"), elem_id="kb-run-eval",
                                     visible=policy == "open")
                cancel = gr.Button(label("cancel_eval"), variant="stop", visible=False,
                                   elem_id="kb-cancel-eval")
                status = gr.Markdown(elem_id="kb-eval-status")
        eval_password.change(self.is_admin, eval_password, run_eval, api_name=False, queue=False)
        started = run_eval.click(lambda: (gr.update(interactive=False), gr.update(visible=True)),
                                 None, [run_eval, cancel], api_name=False, queue=False)
        started.then(self.run_evaluation, eval_password, status, api_name=False,
                     concurrency_id="evaluation", concurrency_limit=1).then(
            lambda: (*self._eval_outputs(), gr.update(interactive=True), gr.update(visible=False)),
            None, [report_view, gallery, run_eval, cancel], api_name=False)
        cancel.click(self.cancel_evaluation, eval_password, None, api_name=False, queue=False)

    def _eval_outputs(self) -> tuple[str, dict]:
        text, charts = self.eval_view()
        return text, gr.update(value=charts, visible=bool(charts))


def pages_dir(settings: Settings) -> Path:
    """Where pictures of cited PDF pages are kept (served to the app's visitors)."""
    return settings.data_dir / "cache" / "pages"


def build_app(settings: Settings | None = None, assistant: Assistant | None = None) -> gr.Blocks:
    assistant = assistant or Assistant(settings or Settings.from_env())
    ensure_corpus(assistant)
    threading.Thread(target=assistant.warm_up, name="warm-up", daemon=True).start()
    return KenbronUI(assistant).build()


def ensure_corpus(assistant: Assistant) -> None:
    """Spaces disks are not persistent: ingest the bundled corpus when the store is empty (a
    few minutes on two cores, so its progress goes to the log)."""
    if not assistant.kb.documents() and BUNDLED_CORPUS.is_dir():
        log.info("the store is empty: ingesting the bundled corpus (%s)", BUNDLED_CORPUS)

        def logged(stage: str, done: int, total: int) -> None:
            log.info("ingesting the bundled corpus: %d/%d %s", done, total, stage)

        report = assistant.kb.ingest([BUNDLED_CORPUS], progress=logged)
        log.info("ingested the bundled corpus: %d documents", len(report.added))


def make_server_app(settings: Settings):
    """The FastAPI app `kenbron serve` runs: the OpenAI-compatible routes, then the Gradio app
    mounted at "/" (one port for people and programs)."""
    from fastapi import FastAPI

    from ui.openai_api import add_openai_routes

    assistant = Assistant(settings)
    demo = build_app(settings, assistant)
    app = FastAPI(title="Kenbron")
    add_openai_routes(app, assistant)
    auth = (settings.username, settings.password) if settings.username and settings.password else None
    demo.queue(default_concurrency_limit=4, max_size=64)
    return gr.mount_gradio_app(
        app, demo, path="/", ssr_mode=False, auth=auth, show_error=True, css=CSS, head=MARKER_SCRIPT,
        i18n=label,
        allowed_paths=[str(settings.data_dir / "eval"), str(REPO_ROOT / "eval" / "report"),
                       str(pages_dir(settings))])


def launch(settings: Settings | None = None, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    settings = settings or Settings.from_env()
    if not logging.getLogger().handlers:  # `python app.py` on Spaces: requests go to the log
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # a browser tab keeps an event stream open: on SIGTERM wait a few seconds for answers in
    # flight, not for every tab to close; the model worker ends with this process (its guard)
    uvicorn.run(make_server_app(settings), host=host or settings.host, port=port or settings.port,
                log_level="info", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
