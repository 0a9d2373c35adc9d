"""Anomalies in a model's KPI history: a sudden change or a slow slide (``monitor.anomaly``)."""

from __future__ import annotations

from monitor.detect.findings import Finding
from monitor.detect.rule import Rule, WindowContext
from monitor.plugins import rule
from monitor.spec import ModelSpec

KIND = "kpi_anomaly"


def anomaly_evaluations(history: dict[str, list[tuple[str, float | None]]], spec: ModelSpec
                        ) -> tuple[list[Finding], dict[str, list[int]]]:
    """Scan each KPI's history (oldest first, this run last); fire when this run's point is flagged.

    Returns the evaluations and, per KPI, every flagged index (the report marks them).
    """
    rules = spec.rules.anomaly
    if rules is None:
        return [], {}
    from monitor.anomaly import scan

    evaluations, flagged = [], {}
    for name, points in history.items():
        if rules.metrics is not None and name not in rules.metrics:
            continue
        values = [value for _, value in points]
        if sum(v is not None for v in values) < rules.min_history:
            continue
        indices = scan(values, method=rules.method, **rules.params)
        flagged[name] = indices
        current = values[-1]
        if indices and indices[-1] == len(values) - 1 and current is not None:
            earlier = [v for v in values[:-1] if v is not None]
            mean = sum(earlier) / len(earlier)
            evaluations.append(Finding(
                rule="kpi_anomaly", kind=KIND, status="firing", segment=f"kpi={name}", metric=name,
                value=current, baseline=mean,
                message=f"{name} {current:.4g} is anomalous against its history (mean {mean:.4g} over "
                        f"{len(earlier)} checks; {rules.method})",
                details={"method": rules.method, "history": len(values)}))
    evaluations.append(Finding(rule="kpi_anomaly", kind=KIND, status="ok", segment="*",
                                      message="back within its usual range"))
    return evaluations, flagged


@rule("kpi_anomaly")
class KpiAnomaly(Rule):
    """A KPI's value in this run is anomalous against the model's earlier checks (one finding per
    flagged KPI, segment ``kpi=<name>``), plus an ``ok`` wildcard that resolves the rest."""

    kinds = (KIND,)
    fields = ("rules.anomaly",)
    order = 90
    detection_key = "anomalies"

    def evaluate(self, context: WindowContext) -> list[Finding]:
        return anomaly_evaluations(context.kpi_history, context.spec)[0]

    def summary(self, context: WindowContext, findings: list[Finding]) -> dict[str, list[int]]:
        """Per KPI, every flagged point of its history (the report marks them). Scanning again
        costs little: at most 60 points per KPI."""
        return anomaly_evaluations(context.kpi_history, context.spec)[1]
