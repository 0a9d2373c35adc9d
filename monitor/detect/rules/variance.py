"""Variance change: Brown–Forsythe on the model score and each numeric feature, reference
sample against the window (``monitor.drift.variance``). A shift in spread that the mean and a
KS test can miss, e.g. a score that collapses towards 0.5."""

from __future__ import annotations

from typing import Any

import pandas as pd

from monitor.detect.findings import Finding
from monitor.detect.frames import readable
from monitor.detect.rule import ColumnRule, ColumnStep, WindowContext
from monitor.plugins import rule
from monitor.reference import SCORE
from monitor.spec import ModelSpec


@rule("variance_change")
class VarianceChange(ColumnRule):
    """Fires per column when the variance changed significantly and by at least the set ratio."""

    kinds = ("variance_change",)
    fields = ("rules.variance_p_value", "rules.variance_min_ratio")
    order = 60
    detection_key = "variance"

    def column_step(self, context: WindowContext) -> "_VarianceStep | None":
        spec, sample, frame = context.spec, context.reference_sample, context.frame
        if spec.rules.variance_p_value is None or sample.empty or frame.empty:
            return None
        columns = [c for c in dict.fromkeys([SCORE, *spec.columns.numeric]) if c in sample and c in frame]
        return _VarianceStep(spec, sample, columns)

    def summary(self, context: WindowContext, findings: list[Finding]) -> dict[str, Any]:
        """Per column, the test's result (the report's variance table)."""
        return {f.segment.split("=", 1)[1]: f.details for f in findings}


class _VarianceStep(ColumnStep):
    """Per column: Brown-Forsythe of the reference sample against the window's column."""

    def __init__(self, spec: ModelSpec, sample: pd.DataFrame, columns: list[str]):
        self.spec, self.sample, self.columns = spec, sample, columns
        self.results: dict[str, Any] = {}

    def take(self, name: str, values: pd.Series) -> None:
        from monitor.drift.variance import variance_change

        rules = self.spec.rules
        self.results[name] = variance_change(self.sample[name], values, p_value=rules.variance_p_value,
                                             min_ratio=rules.variance_min_ratio)

    def finish(self, context: WindowContext) -> list[Finding]:
        rules = self.spec.rules
        return [Finding(
            rule="variance_change", kind="variance_change", status="firing" if r.drifted else "ok",
            segment=f"{'output' if c == SCORE else 'feature'}={c}", message=f"{readable(c)}: {r.message}",
            metric="variance_ratio",
            value=r.variance_ratio if r.variance_ratio is not None and r.variance_ratio != float("inf") else None,
            threshold=rules.variance_min_ratio, details=r.to_json())
            for c, r in ((c, self.results[c]) for c in self.columns)]
