"""The Gradio app: the chat (`ui.chat`), the documents (`ui.documents`) and the evaluation
(`ui.evaluation_tab`) tabs, the `/ask` API, and the server that also carries the
OpenAI-compatible routes (`ui.openai_api`) on the same port.

Uploads, removals and evaluation runs change what every visitor sees, so they follow
`KENBRON_UPLOADS` (`ui.admin`).
"""

from __future__ import annotations

import logging

from assistant.settings import apply_process_defaults

apply_process_defaults()  # before Gradio and Chroma are imported

import gradio as gr  # noqa: E402

from assistant.library import Library  # noqa: E402
from assistant.pipeline.chain import Assistant  # noqa: E402
from assistant.settings import REPO_ROOT, Settings  # noqa: E402
from ui.chat import ChatTab, pages_dir  # noqa: E402
from ui.documents import DocumentsTab  # noqa: E402
from ui.evaluation_tab import EvaluationTab, charts_dir  # noqa: E402
from ui.labels import browser_language, label  # noqa: E402
from ui.priority import ChatFirst  # noqa: E402
from ui.render import MARKER_SCRIPT, sources_panel  # noqa: E402
from ui.startup import Startup  # noqa: E402

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_S = 3

CSS = """
.kb-sources mark {background: #ffe58a; padding: 0 2px;}
.kb-sources details {border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 6px 10px; margin: 6px 0;}
.kb-page-view img {max-width: 100%; border: 1px solid var(--border-color-primary);}
.kb-passage {white-space: pre-wrap; font-size: 0.92em; line-height: 1.45;}
.kb-abstain {font-style: italic;}
.kb-progress {font-style: italic; color: #5f6672;}
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
a.kb-marker:hover .kb-tip, a.kb-marker:focus .kb-tip, a.kb-marker.kb-tip-measure .kb-tip {
  right: 0; top: 1.4em; z-index: 20;
  width: max-content; max-width: min(26rem, 80vw); height: auto; overflow: visible; clip-path: none;
  white-space: normal; font-weight: 400; font-size: 0.85rem; line-height: 1.35; color: #111;
  background: #fff; border: 1px solid #888; border-radius: 6px; padding: 6px 8px;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.2);}
a.kb-marker.kb-tip-up:hover .kb-tip, a.kb-marker.kb-tip-up:focus .kb-tip {top: auto; bottom: 1.4em;}
#kb-docs th, #kb-docs th *, #kb-upload-results th, #kb-upload-results th * {white-space: nowrap !important;
  word-break: normal !important; overflow-wrap: normal !important;}
"""



def build_ui(library: Library, startup: Startup) -> gr.Blocks:
    """The three tabs over the library's collections (the chat and the documents tab work in
    the collection chosen above them; the evaluation runs on the default one); chat answers go
    before evaluation questions."""
    chat_first = ChatFirst()
    chat = ChatTab(library, chat_first, startup)
    documents = DocumentsTab(library, library.first.settings)
    evaluation = EvaluationTab(library.first, chat_first)
    with gr.Blocks(title="Kenbron") as demo:
        gr.Markdown(label("intro"))
        collection = gr.Dropdown(library.names(), value=library.default, label=label("collection"),
                                 info=label("collection_info"), elem_id="kb-collection")
        with gr.Tab(label("chat"), id="chat"):
            about, sources = chat.layout(collection)
        with gr.Tab(label("documents"), id="documents"):
            table, choice, results = documents.layout(collection)
        with gr.Tab(label("evaluation"), id="evaluation"):
            report, charts = evaluation.layout()

        def written_for(request: gr.Request) -> tuple:
            """What the server writes into the page, in the visitor's language."""
            language = browser_language(request)
            return (documents.documents_table(language), documents.results_table([], language),
                    documents.choices(), chat.about(language), sources_panel([], language),
                    gr.update(choices=library.names(), value=library.default),
                    evaluation.eval_view(language, with_charts=False)[0])

        def chosen(name: str | None, request: gr.Request) -> tuple:
            """Another collection chosen: its documents, its removal list, its settings line."""
            language = browser_language(request)
            return (*documents.refreshed(name, request), chat.about(language, name))

        def counted(name: str | None, request: gr.Request) -> str:
            """The settings line again: an upload or a removal changes what it counts."""
            return chat.about(browser_language(request), name)

        def charts_for(request: gr.Request) -> dict:
            """The evaluation charts in the visitor's language: a load of its own, since drawing
            them the first time takes seconds, and a late `written_for` would empty the sources
            panel of a question asked meanwhile."""
            return evaluation.shown(browser_language(request))[1]

        demo.load(written_for, None, [table, results, choice, about, sources, collection, report],
                  api_name=False)
        demo.load(charts_for, None, charts, api_name=False)
        collection.change(chosen, collection, [table, choice, about], api_name=False)
        table.change(counted, collection, about, api_name=False, queue=False)
        gr.api(chat.api_ask, api_name="ask")
    return demo


def build_app(settings: Settings | None = None, assistant: Assistant | None = None,
              library: Library | None = None) -> gr.Blocks:
    """The app over `assistant`, served at once: the bundled corpus (into an empty store) and
    the model load in the background (`ui.startup`), and the page says what it waits for."""
    library = library or Library(assistant or Assistant(settings or Settings.from_env()))
    startup = Startup(library.first)
    startup.start()
    return build_ui(library, startup)


def make_server_app(settings: Settings):
    """The FastAPI app `kenbron serve` runs: the OpenAI-compatible routes, then the Gradio app
    mounted at "/" (one port for people and programs)."""
    from fastapi import FastAPI

    from ui.openai_api import add_openai_routes

    library = Library(Assistant(settings))
    demo = build_app(settings, library=library)
    app = FastAPI(title="Kenbron")
    add_openai_routes(app, library)
    auth = (settings.username, settings.password) if settings.username and settings.password else None
    demo.queue(default_concurrency_limit=4, max_size=64)
    return gr.mount_gradio_app(
        app, demo, path="/", ssr_mode=False, auth=auth, show_error=True, css=CSS, head=MARKER_SCRIPT,
        i18n=label,
        allowed_paths=[str(settings.data_dir / "eval"), str(REPO_ROOT / "eval" / "report"),
                       str(pages_dir(settings)), str(charts_dir(settings.data_dir))])


def launch(settings: Settings | None = None, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    settings = settings or Settings.from_env()
    if not logging.getLogger().handlers:  # `python app.py` on Spaces: requests go to the log
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # a browser tab keeps an event stream open: on SIGTERM wait a few seconds for answers in
    # flight, not for every tab to close; the model worker ends with this process (its guard)
    uvicorn.run(make_server_app(settings), host=host or settings.host, port=port or settings.port,
                log_level="info", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
