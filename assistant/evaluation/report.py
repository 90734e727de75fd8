"""`Report`: a run's metrics overall, per dev-set half, category and question language, with its
error budget and risk–coverage curve per half — `report.json`, read back for comparisons and
summaries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.evaluation.budget import CurvePoint, error_budget, risk_coverage
from assistant.evaluation.metrics import DEFINITIONS, Metrics, compute_metrics
from assistant.evaluation.questions import Question
from assistant.evaluation.records import EvalRecord


@dataclass
class Report:
    """report.json: overall, per dev-set half, category and question language, the error budget
    and the risk–coverage curve per half, the run's configuration; the judge's section when one
    scored the run."""

    overall: Metrics
    by_split: dict[str, Metrics]
    by_category: dict[str, Metrics]
    by_language: dict[str, Metrics]
    risk_coverage: dict[str, list[CurvePoint]]  # per half (`risk_coverage`)
    config: dict[str, Any]  # what produced it, as written by `evaluation.run.config_of`
    judge: dict[str, Any] | None = None  # `evaluation.judge.judge_report`
    # questions per stage that decided them, overall and per half (`error_budget`)
    budget: dict[str, dict[str, int]] = field(default_factory=dict)

    SLICES = ("by_split", "by_category", "by_language")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"overall": self.overall.to_dict()}
        for key in self.SLICES:
            data[key] = {name: m.to_dict() for name, m in getattr(self, key).items()}
        data["risk_coverage"] = {half: [asdict(p) for p in points]
                                 for half, points in self.risk_coverage.items()}
        data["error_budget"] = self.budget
        data["config"] = self.config
        data["definitions"] = DEFINITIONS
        if self.judge is not None:
            data["judge"] = self.judge
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        slices = {key: {name: Metrics.from_dict(m) for name, m in (data.get(key) or {}).items()}
                  for key in cls.SLICES}
        curve = {half: [CurvePoint(**p) for p in points]
                 for half, points in (data.get("risk_coverage") or {}).items()}
        return cls(overall=Metrics.from_dict(data["overall"]), risk_coverage=curve,
                   config=data.get("config", {}), judge=data.get("judge"),
                   budget=data.get("error_budget") or {}, **slices)


def build_report(records: Sequence[EvalRecord], k: int, config: dict[str, Any]) -> Report:
    """The report of a run: overall, per half, category and question language, and its config."""

    def sliced(key: Callable[[Question], str]) -> dict[str, Metrics]:
        groups: dict[str, list[EvalRecord]] = {}
        for record in records:
            groups.setdefault(key(record.asked), []).append(record)
        return {name: compute_metrics(group, k) for name, group in sorted(groups.items())}

    return Report(
        overall=compute_metrics(records, k),
        by_split=sliced(lambda q: q.split),
        by_category=sliced(lambda q: q.category),
        by_language=sliced(lambda q: q.language),
        risk_coverage={name: risk_coverage([r for r in records if r.asked.split == name])
                       for name in ("tune", "check")},
        config=config,
        budget={"overall": error_budget(records, k), **{
            name: error_budget([r for r in records if r.asked.split == name], k)
            for name in ("tune", "check")}},
    )
