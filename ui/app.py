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
from pathlib import Path
from typing import Any

from assistant.settings import apply_process_defaults

apply_process_defaults()  # before Gradio and Chroma are imported

import gradio as gr  # noqa: E402

from assistant.chain import Assistant, QuestionError  # noqa: E402
from assistant.llm import model_label  # noqa: E402
from assistant.settings import BUNDLED_CORPUS, REPO_ROOT, Settings  # noqa: E402
from ui.render import answer_markdown, sources_html  # noqa: E402
from ui.request_log import log_answer  # noqa: E402

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
.kb-passage {white-space: pre-wrap; font-size: 0.92em; line-height: 1.45;}
.kb-abstain {font-style: italic;}
.kb-uncited summary {opacity: 0.7;}
"""


def _history_pairs(history: list[dict]) -> list[tuple[str, str]]:
    """Gradio messages → (user, assistant) pairs; content may be a list of text blocks."""
    def text(content: Any) -> str:
        if isinstance(content, str):
            return content
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


class KenbronUI:
    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.kb = assistant.kb
        self.feedback_path = self.settings.data_dir / "feedback.jsonl"
        self._feedback_lock = threading.Lock()

    # --- chat --------------------------------------------------------------------------------

    def chat(self, message: str, history: list[dict]):
        history = list(history or [])
        pairs = _history_pairs(history)
        history.append({"role": "user", "content": message})
        try:
            events = self.assistant.stream(message, pairs)
            history.append({"role": "assistant", "content": ""})
            hits: list = []
            text = ""
            for event in events:
                if event.kind == "sources":
                    hits = event.data
                    yield history, sources_html(None, hits, self.kb.document_text), ""
                elif event.kind == "token":
                    text += event.data
                    history[-1] = {"role": "assistant", "content": text}
                    yield history, gr.skip(), ""
                else:
                    answer = event.data
                    log_answer("chat", answer, self.settings)
                    history[-1] = {"role": "assistant", "content": answer_markdown(answer)}
                    yield history, sources_html(answer, hits, self.kb.document_text), json.dumps(
                        {"backend": answer.backend, "model": answer.model, "k": self.settings.k,
                         "question": answer.question, "abstained": answer.abstained,
                         "citations": len(answer.citations)})
        except QuestionError as exc:
            history.append({"role": "assistant", "content": f"⚠️ {exc}"})
            yield history, gr.skip(), ""

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
        return [[d.title, d.source_id, d.language, d.date or "", d.chunks]
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

            def on_progress(stage: str, done: int, total: int) -> None:
                if total:  # files read, then chunks embedded and written
                    progress(done / total, desc=f"{'reading' if stage == 'files' else 'embedding'} "
                                                f"{done}/{total} {stage}")

            report = self.kb.ingest(paths, progress=on_progress)
        for sid in report.added:
            rows.append([sid, "added", ""])
        for sid in report.updated:
            rows.append([sid, "updated", ""])
        for sid in report.skipped:
            rows.append([sid, "unchanged", ""])
        for path, reason in report.rejected:
            rows.append([Path(path).name, "rejected", reason])
        return rows, self.documents_table(), gr.update(choices=self._source_ids())

    def remove(self, source_id: str, password: str):
        self._allowed(password)
        if not source_id:
            raise gr.Error("Choose a document to remove.")
        try:
            n = self.kb.remove(source_id)
        except KeyError as exc:
            raise gr.Error(f"{source_id} is not ingested.") from exc
        gr.Info(f"Removed {source_id} ({n} chunks).")
        return self.documents_table(), gr.update(choices=self._source_ids(), value=None)

    def _source_ids(self) -> list[str]:
        return [d.source_id for d in self.kb.documents()]

    # --- evaluation --------------------------------------------------------------------------

    def eval_view(self) -> tuple[str, list[str]]:
        """The latest report's text (without the per-question failures) and its charts."""
        found = self.eval_dir()
        if found is None:
            return ("No evaluation report yet. Run it below, or `kenbron eval --questions "
                    f"eval/questions.dev.jsonl --out {self.settings.data_dir / 'eval'}`.", [])
        text = (found / "report.md").read_text(encoding="utf-8").split("## Failures")[0]
        return text, [str(p) for p in sorted(found.glob("*.png"))]

    def run_evaluation(self, password: str, progress=gr.Progress()):  # noqa: B008
        """The dev set through this app's assistant, one progress step per question; the
        report goes to `KENBRON_DATA_DIR/eval` and replaces the one shown."""
        from assistant.evaluation import evaluate
        from assistant.questions import load_questions

        self._allowed(password)
        questions = load_questions(REPO_ROOT / "eval" / "questions.dev.jsonl")
        progress(0, desc=f"evaluating 0/{len(questions)} questions")
        def step(done: int, total: int) -> None:
            progress(done / total, desc=f"evaluating {done}/{total} questions")

        evaluate(self.assistant, questions, self.settings.data_dir / "eval", progress=step)
        text, charts = self.eval_view()
        return text, gr.update(value=charts, visible=True)

    def eval_dir(self) -> Path | None:
        for candidate in (self.settings.data_dir / "eval", REPO_ROOT / "eval" / "report"):
            if (candidate / "report.md").is_file():
                return candidate
        return None

    # --- layout ------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="Kenbron") as demo:
            gr.Markdown("# Kenbron\nAsk in English, Nederlands or français. Every claim links to "
                        "the passage it came from — or you get an honest “the documents don't say”.")
            with gr.Tab("Chat"):
                self._chat_tab()
            with gr.Tab("Documents"):
                table = self._documents_tab()
            with gr.Tab("Evaluation"):
                self._evaluation_tab()
            demo.load(self.documents_table, None, table, api_name=False)
            gr.api(self.api_ask, api_name="ask")
        return demo

    def _chat_tab(self) -> None:
        s = self.settings
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label="Conversation", height=480,
                                     buttons=["copy"], feedback_options=("Like", "Dislike"),
                                     elem_id="kb-chat")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question…", show_label=False,
                                     scale=5, elem_id="kb-question", max_length=s.max_question_chars)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="kb-send")
                with gr.Row():
                    clear = gr.Button("Clear chat", size="sm", elem_id="kb-clear")
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                model = model_label(s, self.assistant.chat)
                why = (" (no local model on this Space and no API secret set: answers quote "
                       "the best-supported source sentences)"
                       if s.on_spaces and s.backend == "extractive" else "")
                gr.Markdown(f"<small>Backend: **{s.backend}**{why} · model: **{model}** · "
                            f"k = {s.k} · embeddings: {self.assistant.kb.embedding}</small>",
                            elem_id="kb-settings")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML("<div class='kb-sources'><h3>Sources</h3><p>Sources appear "
                                  "here as soon as they are found.</p></div>", elem_id="kb-sources")
        last = gr.Textbox(visible=False)
        submit = [box, chatbot]
        send.click(self.chat, submit, [chatbot, sources, last], api_name=False).then(
            lambda: "", None, box, api_name=False)
        box.submit(self.chat, submit, [chatbot, sources, last], api_name=False).then(
            lambda: "", None, box, api_name=False)
        clear.click(lambda: ([], "", ""), None, [chatbot, sources, last], api_name=False)
        chatbot.like(self.feedback, [last], None, api_name=False)

    def _documents_tab(self) -> gr.Dataframe:
        policy = self.settings.uploads
        table = gr.Dataframe(self.documents_table(), interactive=False, elem_id="kb-docs",
                             headers=["title", "source", "language", "date", "chunks"],
                             label="Ingested documents")
        with gr.Group(visible=policy != "off"):
            password = gr.Textbox(label="Admin password", type="password",
                                  visible=policy == "password")
            files = gr.File(label="Add documents (.txt .md .pdf .html .docx)", file_count="multiple",
                            file_types=[".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"],
                            elem_id="kb-upload")
            upload_btn = gr.Button("Ingest files", variant="primary", elem_id="kb-ingest")
            results = gr.Dataframe(headers=["file", "result", "reason"], interactive=False,
                                   label="Upload results", elem_id="kb-upload-results")
            with gr.Row():
                choice = gr.Dropdown(self._source_ids(), label="Remove a document")
                remove_btn = gr.Button("Remove", variant="stop")
        if policy == "off":
            gr.Markdown("Uploads and removals are disabled on this deployment.")
        else:
            # one change to the documents at a time, the next shown as queued with its place;
            # chat events have their own slots, so questions are answered meanwhile
            upload_btn.click(self.upload, [files, password], [results, table, choice],
                             api_name="ingest", concurrency_id="documents", concurrency_limit=1)
            remove_btn.click(self.remove, [choice, password], [table, choice], api_name=False,
                             concurrency_id="documents", concurrency_limit=1)
        return table

    def _evaluation_tab(self) -> None:
        report_md, charts = self.eval_view()
        # charts first: below the long report the gallery's lazy images stay unloaded
        # until scrolled to, and the tab looked like three empty frames
        gallery = gr.Gallery(charts, columns=3, label="Charts", height="auto",
                             elem_id="kb-charts", visible=bool(charts))
        report_view = gr.Markdown(report_md, elem_id="kb-report")
        with gr.Row():
            eval_password = gr.Textbox(label="Admin password", type="password",
                                       visible=self.settings.uploads == "password", scale=2)
            run_eval = gr.Button("Run the dev-set evaluation", elem_id="kb-run-eval", scale=1)
        run_eval.click(self.run_evaluation, [eval_password], [report_view, gallery],
                       api_name=False)


def build_app(settings: Settings | None = None, assistant: Assistant | None = None) -> gr.Blocks:
    assistant = assistant or Assistant(settings or Settings.from_env())
    ensure_corpus(assistant)
    return KenbronUI(assistant).build()


def ensure_corpus(assistant: Assistant) -> None:
    """Spaces disks are not persistent: ingest the bundled corpus when the store is empty."""
    if not assistant.kb.documents() and BUNDLED_CORPUS.is_dir():
        report = assistant.kb.ingest([BUNDLED_CORPUS])
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
        app, demo, path="/", ssr_mode=False, auth=auth, show_error=True, css=CSS,
        allowed_paths=[str(settings.data_dir / "eval"), str(REPO_ROOT / "eval" / "report")])


def launch(settings: Settings | None = None, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    settings = settings or Settings.from_env()
    if not logging.getLogger().handlers:  # `python app.py` on Spaces: requests go to the log
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # a browser tab keeps an event stream open: on SIGTERM wait a few seconds for answers in
    # flight, not for every tab to close; the model worker ends with this process (its guard)
    uvicorn.run(make_server_app(settings), host=host or settings.host, port=port or settings.port,
                log_level="info", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
