"""Data quality: missing values rising, values outside the reference range, unseen categories,
quarantined rows (``monitor.quality``). One ``ok`` wildcard finding resolves issues that went away."""

from __future__ import annotations

from typing import Any

import pandas as pd

from monitor.detect.findings import Finding
from monitor.detect.rule import ColumnRule, ColumnStep, WindowContext
from monitor.plugins import rule

_LOG_COLUMNS = {"request_id", "ts", "version", "prediction", "score", "latency_ms", "status", "label"}


@rule("data_quality")
class DataQuality(ColumnRule):
    """Compares the window's columns with the reference's per-column statistics; an empty window
    says nothing about the data's quality and yields no finding."""

    kinds = ("data_quality",)
    fields = ("rules.missing_increase", "rules.out_of_range_share")
    order = 80
    detection_key = "quality"

    def column_step(self, context: WindowContext) -> "_QualityStep | None":
        stats, window, rules = context.quality_stats, context.window, context.spec.rules
        if not stats or window.empty:
            return None
        from monitor.quality import QualityPass, WindowLayout

        columns = context.spec.columns
        assessment = QualityPass(
            stats, WindowLayout(_feature_names(stats, window), len(window)), columns.numeric, columns.categorical, quarantined=context.quarantined,
            max_missing_increase=rules.missing_increase if rules.missing_increase is not None else 1.0,
            max_out_of_range=rules.out_of_range_share if rules.out_of_range_share is not None else 1.0)
        return _QualityStep(self, assessment)

    def summary(self, context: WindowContext, findings: list[Finding]) -> dict[str, Any]:
        """The issues and the window's histograms beside the reference's (the report's charts)."""
        if not findings:
            return {}
        from monitor.quality import histograms

        stats = context.quality_stats or {}
        charts = getattr(self, "_histograms", None)  # drawn in the pass over the columns
        return {"issues": [f.details for f in findings if f.status == "firing"],
                "histograms": charts if charts is not None else histograms(stats, _features(stats, context.window))}


class _QualityStep(ColumnStep):
    """Every quality check and the chart of each column in its turn (``monitor.quality.QualityPass``)."""

    def __init__(self, rule: DataQuality, assessment):
        self.rule, self.assessment, self.columns = rule, assessment, assessment.columns

    def take(self, name: str, values: pd.Series) -> None:
        self.assessment.take(name, values)

    def finish(self, context: WindowContext) -> list[Finding]:
        issues, self.rule._histograms = self.assessment.result()  # the charts, for summary()
        findings = [Finding(rule="data_quality", kind="data_quality", status="firing", severity=i.severity,
                            segment=f"check={i.check}" + (f",column={i.column}" if i.column else ""),
                            message=i.message, metric=i.check, value=i.value, baseline=i.reference_value,
                            threshold=i.threshold, details=i.to_json()) for i in issues]
        findings.append(Finding(rule="data_quality", kind="data_quality", status="ok", segment="*",
                                message="no longer found in the window"))
        return findings


def _feature_names(stats: dict[str, dict], window: pd.DataFrame) -> list[str]:
    return [c for c in window.columns if c in stats or c not in _LOG_COLUMNS]


def _features(stats: dict[str, dict], window: pd.DataFrame) -> pd.DataFrame:
    return window[_feature_names(stats, window)]
