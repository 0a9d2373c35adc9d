"""Variance change: Brown–Forsythe on the model score and each numeric feature, reference
sample against the window (``monitor.drift.variance``). A shift in spread that the mean and a
KS test can miss, e.g. a score that collapses towards 0.5."""

from __future__ import annotations

from typing import Any

from monitor.detect.findings import Finding
from monitor.detect.frames import readable
from monitor.detect.rule import Rule, WindowContext
from monitor.plugins import rule
from monitor.reference import SCORE


@rule("variance_change")
class VarianceChange(Rule):
    """Fires per column when the variance changed significantly and by at least the set ratio."""

    kinds = ("variance_change",)
    fields = ("rules.variance_p_value", "rules.variance_min_ratio")
    order = 60
    detection_key = "variance"

    def evaluate(self, context: WindowContext) -> list[Finding]:
        spec, sample, frame = context.spec, context.reference_sample, context.frame
        if spec.rules.variance_p_value is None or sample.empty or frame.empty:
            return []
        from monitor.drift.variance import variance_changes

        columns = [c for c in [SCORE, *spec.columns.numeric] if c in sample and c in frame]
        results = variance_changes(sample, frame, columns, p_value=spec.rules.variance_p_value,
                                   min_ratio=spec.rules.variance_min_ratio)
        return [Finding(
            rule="variance_change", kind="variance_change", status="firing" if r.drifted else "ok",
            segment=f"{'output' if c == SCORE else 'feature'}={c}", message=f"{readable(c)}: {r.message}",
            metric="variance_ratio",
            value=r.variance_ratio if r.variance_ratio is not None and r.variance_ratio != float("inf") else None,
            threshold=spec.rules.variance_min_ratio, details=r.to_json()) for c, r in results.items()]

    def summary(self, context: WindowContext, findings: list[Finding]) -> dict[str, Any]:
        """Per column, the test's result (the report's variance table)."""
        return {f.segment.split("=", 1)[1]: f.details for f in findings}
