"""The documents tab: what the chosen collection holds, uploads into it with progress, removal
with a confirmation, and new collections."""

from __future__ import annotations

import shutil
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from assistant.settings import apply_process_defaults

apply_process_defaults()  # before Gradio and Chroma are imported

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402

from assistant.library import CollectionError, Library  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from ui.admin import require_admin  # noqa: E402
from ui.labels import browser_language, label, text  # noqa: E402
from vectorstore.index.knowledge_base import KnowledgeBase  # noqa: E402
from vectorstore.readers.loaders import SUPPORTED_SUFFIXES  # noqa: E402

DOCUMENT_COLUMNS = ("title", "language", "date", "pages", "chunks", "file")
RESULT_COLUMNS = ("file", "result", "details")


class DocumentsTab:
    def __init__(self, library: Library, settings: Settings) -> None:
        self.library = library
        self.settings = settings

    def kb(self, collection: str | None, language: str = "en") -> KnowledgeBase:
        """The knowledge base of `collection`; a `gr.Error` in `language` when there is none."""
        try:
            return self.library.get(collection).kb
        except CollectionError as exc:
            raise gr.Error(text(language, exc.reason, name=exc.name)) from exc

    def documents_table(self, language: str = "en", collection: str | None = None) -> pd.DataFrame:
        """Every document of `collection`, headed in `language`."""
        rows = [[d.title, d.language, d.date or "", d.pages or "", d.chunks, d.source_id]
                for d in self.kb(collection, language).documents()]
        return pd.DataFrame(rows, columns=[text(language, f"col_{c}") for c in DOCUMENT_COLUMNS])

    @staticmethod
    def results_table(rows: list[list[Any]], language: str = "en") -> pd.DataFrame:
        """What an upload or a removal did, per file, headed in `language`."""
        return pd.DataFrame(rows, columns=[text(language, f"col_{c}") for c in RESULT_COLUMNS])

    def upload(self, files: list[str] | None, password: str, collection: str | None,
               request: gr.Request, progress=gr.Progress()):  # noqa: B008 - Gradio injects progress
        """`files` read into `collection`; the results table, per file."""
        language = browser_language(request)
        require_admin(self.settings, password, language)
        if not files:
            raise gr.Error(text(language, "choose_files"))
        kb = self.kb(collection, language)
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
                desc = text(language, "progress_files", done=files_done, total=files_total)
                if chunks_total:
                    desc += text(language, "progress_chunks", done=chunks_done, total=chunks_total)
                progress(chunks_done / chunks_total if chunks_total else files_done / max(files_total, 1),
                         desc=desc)

            on_progress("files", 0, len(paths))
            report = kb.ingest(paths, progress=on_progress)
        for outcome, names in (("added", report.added), ("updated", report.updated),
                               ("unchanged", report.skipped)):
            rows += [[sid, text(language, outcome), ""] for sid in names]
        for path, reason in report.rejected:
            rows.append([Path(path).name, text(language, "rejected"), reason])
        return self.results_table(rows, language)

    def ask_removal(self, source_id: str | None, password: str, collection: str | None,
                    request: gr.Request):
        """The first step of a removal: name what would go, and ask; or say, next to the
        button, why it cannot (this step answers at once, outside the queue, where an error
        would not reach the page)."""
        language = browser_language(request)
        try:
            require_admin(self.settings, password, language)
        except gr.Error as exc:
            return gr.update(value=f"⚠️ {escape(exc.message)}", visible=True), gr.update(visible=False)
        try:
            documents = self.kb(collection, language).documents()
        except gr.Error as exc:
            return gr.update(value=f"⚠️ {escape(exc.message)}", visible=True), gr.update(visible=False)
        doc = next((d for d in documents if d.source_id == source_id), None)
        if doc is None:
            return (gr.update(value=f"⚠️ {escape(text(language, 'choose_document'))}", visible=True),
                    gr.update(visible=False))
        return (gr.update(value=text(language, "remove_question", title=escape(doc.title),
                                     source=escape(doc.source_id), n=doc.chunks), visible=True),
                gr.update(visible=True))

    def remove(self, source_id: str, password: str, collection: str | None, request: gr.Request):
        language = browser_language(request)
        require_admin(self.settings, password, language)
        if not source_id:
            raise gr.Error(text(language, "choose_document"))
        kb = self.kb(collection, language)
        try:
            n = kb.remove(source_id)
        except KeyError as exc:
            raise gr.Error(text(language, "not_ingested", source=source_id)) from exc
        gr.Info(text(language, "removed_info", source=source_id, n=n))
        rows = [[source_id, text(language, "removed"), text(language, "n_chunks", n=n)]]
        return (self.results_table(rows, language), self.documents_table(language, collection),
                self.choices(collection), gr.update(visible=False), gr.update(visible=False))

    def choices(self, collection: str | None = None):
        """The removal list of `collection`: titles shown, source ids chosen, nothing
        preselected."""
        try:
            documents = self.library.get(collection).kb.documents()
        except CollectionError:
            documents = []
        return gr.update(choices=[(f"{d.title} ({d.source_id})", d.source_id) for d in documents],
                         value=None)

    def create(self, name: str, password: str, request: gr.Request):
        """A new collection, chosen at once (uploads go to it next); or, next to the button,
        why not. Permissions follow the uploads policy: a collection changes what every visitor
        can choose."""
        language = browser_language(request)
        try:
            require_admin(self.settings, password, language)
            created = self.library.create(name).settings.collection
        except gr.Error as exc:
            return gr.skip(), gr.skip(), f"⚠️ {escape(exc.message)}"
        except CollectionError as exc:
            return gr.skip(), gr.skip(), f"⚠️ {escape(text(language, exc.reason, name=exc.name))}"
        return (gr.update(choices=self.library.names(), value=created), "",
                escape(text(language, "collection_created", name=created)))

    def layout(self, collection: gr.Dropdown) -> tuple[gr.Dataframe, gr.Dropdown, gr.Dataframe]:
        """The documents tab of `collection`'s choice; returns the table, the removal list and
        the results (written again on load and on a change of collection, in the visitor's
        language)."""
        policy = self.settings.uploads
        table = gr.Dataframe(self.documents_table(), interactive=False, elem_id="kb-docs",
                             # the short columns as wide as their headers; the title and the
                             # file name share the rest and wrap
                             column_widths=["29%", "13%", "13%", "10%", "10%", "25%"],
                             label=label("ingested"), wrap=True)
        with gr.Group(visible=policy != "off"):
            password = gr.Textbox(label=label("password"), type="password",
                                  visible=policy == "password")
            files = gr.File(label=label("add"),
                            file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                            elem_id="kb-upload")
            upload_btn = gr.Button(label("ingest"), variant="primary", elem_id="kb-ingest")
            with gr.Row():
                new_name = gr.Textbox(label=label("new_collection"), elem_id="kb-new-collection",
                                      placeholder=label("new_collection_placeholder"), scale=3)
                create_btn = gr.Button(label("create_collection"), elem_id="kb-create-collection",
                                       scale=1)
            created = gr.HTML("", elem_id="kb-collection-notice")
            results = gr.Dataframe(self.results_table([]), interactive=False,
                                   label=label("results"), elem_id="kb-upload-results", wrap=True)
            with gr.Row():
                choice = gr.Dropdown([], value=None, label=label("remove_choice"), elem_id="kb-remove-choice")
                remove_btn = gr.Button(label("remove"), variant="stop", elem_id="kb-remove")
            confirm_text = gr.Markdown(visible=False, elem_id="kb-remove-confirm-text")
            with gr.Row(visible=False) as confirm_row:
                confirm_btn = gr.Button(label("confirm"), variant="stop", elem_id="kb-remove-confirm")
                keep_btn = gr.Button(label("keep"), elem_id="kb-remove-keep")
        if policy == "off":
            gr.Markdown(label("uploads_off"))
        else:
            # one change to the documents at a time, the next shown as queued with its place;
            # chat events have their own slots, so questions are answered meanwhile
            # the progress bar covers only the results, so the table stays readable meanwhile
            upload_btn.click(self.upload, [files, password, collection], results, api_name="ingest",
                             concurrency_id="documents", concurrency_limit=1).then(
                self.refreshed, collection, [table, choice], api_name=False)
            create_btn.click(self.create, [new_name, password], [collection, new_name, created],
                             api_name="create_collection", concurrency_id="documents",
                             concurrency_limit=1)
            remove_btn.click(self.ask_removal, [choice, password, collection],
                             [confirm_text, confirm_row], api_name=False, queue=False)
            keep_btn.click(lambda: (gr.update(visible=False), gr.update(visible=False)), None,
                           [confirm_text, confirm_row], api_name=False, queue=False)
            confirm_btn.click(self.remove, [choice, password, collection],
                              [results, table, choice, confirm_text, confirm_row], api_name=False,
                              concurrency_id="documents", concurrency_limit=1)
        return table, choice, results

    def refreshed(self, collection: str | None, request: gr.Request) -> tuple[pd.DataFrame, dict]:
        """The table and the removal list of `collection`, after a change or another choice."""
        return self.documents_table(browser_language(request), collection), self.choices(collection)
