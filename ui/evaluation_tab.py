"""The evaluation tab: for admins, first, Run and Cancel of the dev set (chat first; Cancel
stops the question in flight); then the latest report and its charts."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from pathlib import Path

from assistant.settings import apply_process_defaults

apply_process_defaults()  # before Gradio and Chroma are imported

import gradio as gr  # noqa: E402

from assistant.evaluation.charts import ChartWords, write_charts  # noqa: E402
from assistant.evaluation.metrics import RATES, TIMINGS  # noqa: E402
from assistant.evaluation.records import EvalRecord  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.models.stopping import StopSignal  # noqa: E402
from assistant.pipeline.chain import Assistant  # noqa: E402
from assistant.settings import REPO_ROOT  # noqa: E402
from ui.admin import require_admin  # noqa: E402
from ui.labels import browser_language, label, text  # noqa: E402
from ui.priority import ChatFirst  # noqa: E402


def charts_dir(data_dir: Path) -> Path:
    """Where charts drawn in a visitor's language are kept (served to the app's visitors)."""
    return data_dir / "cache" / "charts"


def summary(report: dict, language: str, report_file: Path) -> str:
    """A report's figures as the tab shows them, every word in `language`: each rate overall and
    per dev-set half, and the median times. (`report.md`, with every question and the error
    budget, is a file for developers and stays English, as `kenbron eval` writes it.)"""
    config = report.get("config", {})
    slices = {"report_all": report["overall"], **{
        f"report_{half}": report.get("by_split", {}).get(half) for half in ("tune", "check")}}
    slices = {key: data for key, data in slices.items() if data}

    def cell(value: object) -> str:
        return "–" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

    def seconds(data: dict, timing: str) -> float | None:
        ms = ((data.get("latency_ms") or {}).get(timing) or {}).get("p50")
        return None if ms is None else ms / 1000

    rows = [[text(language, "m_questions"), *(cell(d["questions"]) for d in slices.values())]]
    rows += [[text(language, f"m_{rate}"), *(cell(d.get(rate)) for d in slices.values())]
             for rate in RATES]
    rows += [[text(language, f"m_{timing}"), *(cell(seconds(d, timing)) for d in slices.values())]
             for timing in ("first_token", "total")]
    head = [text(language, "report_metric"), *(text(language, key) for key in slices)]
    table = [f"| {' | '.join(head)} |", "|---" * len(head) + "|",
             *(f"| {' | '.join(row)} |" for row in rows)]
    return "\n".join([
        text(language, "report_head", n=report["overall"]["questions"],
             backend=config.get("backend", "?"), model=config.get("model", "?"),
             k=config.get("k", "?")), "", *table, "",
        text(language, "report_file", file=f"`{report_file}`")])


class EvaluationCancelled(Exception):
    """Raised between two evaluation questions once an admin pressed Cancel."""


class EvaluationTab:
    def __init__(self, assistant: Assistant, chat_first: ChatFirst) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.chat_first = chat_first
        self._eval_cancelled = threading.Event()
        self._in_flight = StopSignal()  # the running evaluation's model calls

    def eval_view(self, language: str = "en", with_charts: bool = True) -> tuple[str, list[str]]:
        """The latest report's figures in `language` (`summary`) and its charts (none drawn
        without `with_charts`)."""
        found = self.eval_dir()
        if found is None:
            return text(language, "no_report", out=self.settings.data_dir / "eval"), []
        report = json.loads((found / "report.json").read_text(encoding="utf-8"))
        charts = self.charts(found, report, language) if with_charts else []
        return summary(report, language, found / "report.md"), charts

    def charts(self, found: Path, report: dict, language: str) -> list[str]:
        """The report's charts with their words in `language`: as `kenbron eval` drew them in
        English, else drawn again once per report and language (`charts_dir`)."""
        drawn = sorted(found.glob("*.png"))
        if language == "en" or not drawn or not (found / "results.jsonl").is_file():
            return [str(p) for p in drawn]
        stamp = found / "report.json"
        key = hashlib.sha1(f"{stamp.resolve()}:{stamp.stat().st_mtime_ns}".encode()).hexdigest()
        out = charts_dir(self.settings.data_dir) / f"{key[:16]}-{language}"
        if not out.is_dir():
            records = [EvalRecord.from_dict(json.loads(line)) for line in
                       (found / "results.jsonl").read_text(encoding="utf-8").splitlines()
                       if line.strip()]
            words = ChartWords(
                by_category=text(language, "chart_by_category"),
                by_language=text(language, "chart_by_language"),
                latency=text(language, "chart_latency"), seconds=text(language, "chart_seconds"),
                names={**{rate: text(language, f"m_{rate}") for rate in RATES},
                       **{timing: text(language, f"t_{timing}") for timing in TIMINGS}})
            out.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(dir=out.parent))  # another visitor may draw too
            for chart in write_charts(Report.from_dict(report), records, scratch, words):
                chart.rename(chart.with_suffix(f".{language}.png"))  # named for its language
            try:
                scratch.rename(out)
            except OSError:  # drawn meanwhile
                shutil.rmtree(scratch, ignore_errors=True)
        return [str(p) for p in sorted(out.glob("*.png"))]

    def run_evaluation(self, password: str, request: gr.Request,
                       progress=gr.Progress()) -> str:  # noqa: B008
        """The dev set through this app's assistant, one progress step per question, each
        question only once no chat answer is being written; the report goes to
        `KENBRON_DATA_DIR/eval` and replaces the one shown. Cancel stops the question in flight
        (its model request is aborted, `assistant.models.stopping`) and leaves the report shown
        as it was."""
        from assistant.evaluation.questions import load_questions
        from assistant.evaluation.run import evaluate

        language = browser_language(request)
        require_admin(self.settings, password, language)
        self._eval_cancelled.clear()
        self._in_flight = StopSignal()
        questions = load_questions(REPO_ROOT / "eval" / "questions.dev.jsonl")

        def step(done: int, total: int) -> None:
            progress(done / total, desc=text(language, "evaluating", done=done, total=total))
            self.chat_first.wait_for_chats(self._eval_cancelled)
            if self._eval_cancelled.is_set():
                raise EvaluationCancelled(text(language, "eval_cancelled", done=done, total=total))

        try:
            step(0, len(questions))
            with self._in_flight.current():
                _, report = evaluate(self.assistant, questions, self.settings.data_dir / "eval",
                                     progress=step)
        except EvaluationCancelled as exc:
            return str(exc)
        overall = report.overall
        return text(language, "evaluated", n=overall.questions,
                    accuracy=f"{overall.answer_accuracy or 0:.2f}",
                    precision=f"{overall.citation_precision or 0:.2f}")

    def cancel_evaluation(self, password: str, request: gr.Request) -> str:
        """Cancel at once: the question in flight is stopped, the run ends at its progress step."""
        language = browser_language(request)
        require_admin(self.settings, password, language)
        self._eval_cancelled.set()
        self._in_flight.stop()
        return text(language, "cancelling")

    def is_admin(self, password: str):
        """Show the evaluation's controls to an admin only (see `require_admin`)."""
        try:
            require_admin(self.settings, password)
        except gr.Error:
            return gr.update(visible=False)
        return gr.update(visible=True)

    def eval_dir(self) -> Path | None:
        for candidate in (self.settings.data_dir / "eval", REPO_ROOT / "eval" / "report"):
            if (candidate / "report.md").is_file():
                return candidate
        return None

    def layout(self) -> tuple[gr.Markdown, gr.Gallery]:
        """The evaluation tab: for admins Run and Cancel first, then the latest report; returns
        the report's figures and charts (written again on load, in the visitor's language:
        `shown`)."""
        report_md, charts = self.eval_view()
        policy = self.settings.uploads
        # an evaluation takes the model for up to an hour: only an admin may start one
        with gr.Row(visible=policy != "off", equal_height=True):
            eval_password = gr.Textbox(label=label("eval_password"), type="password",
                                       visible=policy == "password", scale=2)
            with gr.Column(scale=3):
                run_eval = gr.Button(label("run_eval"), elem_id="kb-run-eval",
                                     visible=policy == "open")
                cancel = gr.Button(label("cancel_eval"), variant="stop", visible=False,
                                   elem_id="kb-cancel-eval")
        # tall enough for the progress bar, which Gradio draws over this output
        status = gr.Markdown(elem_id="kb-eval-status", min_height=64, visible=policy != "off")
        # charts before the long report: below it the gallery's lazy images stay unloaded
        # until scrolled to; whole charts, not crops
        gallery = gr.Gallery(charts, columns=3, label=label("charts"), height="auto",
                             object_fit="contain", elem_id="kb-charts", visible=bool(charts))
        report_view = gr.Markdown(report_md, elem_id="kb-report")
        eval_password.change(self.is_admin, eval_password, run_eval, api_name=False, queue=False)
        started = run_eval.click(lambda: (gr.update(interactive=False), gr.update(visible=True)),
                                 None, [run_eval, cancel], api_name=False, queue=False)
        started.then(self.run_evaluation, eval_password, status, api_name=False,
                     concurrency_id="evaluation", concurrency_limit=1).then(
            self._finished, None, [report_view, gallery, run_eval, cancel], api_name=False)
        cancel.click(self.cancel_evaluation, eval_password, status, api_name=False, queue=False)
        return report_view, gallery

    def shown(self, language: str) -> tuple[str, dict]:
        """The report's figures and charts in `language`, as the tab shows them."""
        report, charts = self.eval_view(language)
        return report, gr.update(value=charts, visible=bool(charts))

    def _finished(self, request: gr.Request) -> tuple[str, dict, dict, dict]:
        """The new report and charts; Run back on, Cancel away."""
        return *self.shown(browser_language(request)), gr.update(interactive=True), \
            gr.update(visible=False)
