"""PNG charts for evaluation reports (matplotlib, headless), in any language the caller words
them in (`ChartWords`; English, the metrics' JSON names, by default)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.evaluation.metrics import RATES, TIMINGS, timings_of
from assistant.evaluation.records import EvalRecord
from assistant.evaluation.report import Report

# the rates drawn (source and citation recall and the answer language are left to the tables)
CHART_METRICS = tuple(m for m in RATES
                      if m not in ("source_recall", "citation_recall", "answer_language_ok"))


@dataclass(frozen=True)
class ChartWords:
    """Every word the charts show: titles ({slice} is "by category" or "by language" worded),
    the axis label, and the names of rates and timings (their JSON names when missing)."""

    by_category: str = "Metrics by category (n/a drawn as 0)"
    by_language: str = "Metrics by language (n/a drawn as 0)"
    latency: str = "Latency per question"
    seconds: str = "seconds"
    names: dict[str, str] = field(default_factory=dict)

    def name(self, key: str) -> str:
        return self.names.get(key, key.replace("_", " ") if key in TIMINGS else key)


def write_charts(report: Report, records: Sequence[EvalRecord], out_dir: Path,
                 words: ChartWords = ChartWords()) -> list[Path]:  # noqa: B008 - frozen
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for key, name, title in (("by_category", "metrics_by_category.png", words.by_category),
                             ("by_language", "metrics_by_language.png", words.by_language)):
        slices = getattr(report, key)
        fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
        width = 0.8 / max(len(slices), 1)
        for i, (slice_name, metrics) in enumerate(slices.items()):
            values = [metrics.rate(m) or 0 for m in CHART_METRICS]
            xs = [x + i * width for x in range(len(CHART_METRICS))]
            ax.bar(xs, values, width, label=f"{slice_name} ({metrics.questions})")
        ax.set_xticks([x + width * (len(slices) - 1) / 2 for x in range(len(CHART_METRICS))])
        ax.set_xticklabels([words.name(m) for m in CHART_METRICS], rotation=20, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.legend(fontsize=8, ncol=3)
        fig.tight_layout()
        fig.savefig(out_dir / name)
        plt.close(fig)
        written.append(out_dir / name)

    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    series = {words.name(name): [ms / 1000 for ms in timings_of(records, key)]
              for name, key in TIMINGS.items()}
    series = {k: v for k, v in series.items() if v}
    if series:
        ax.boxplot(list(series.values()), tick_labels=list(series.keys()))
    ax.set_ylabel(words.seconds)
    ax.set_title(words.latency)
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png")
    plt.close(fig)
    written.append(out_dir / "latency.png")
    return written
