"""Joint (multivariate) drift: a domain classifier's ROC-AUC at telling reference rows from window
rows (``monitor.drift.multivariate``). It catches shifts in how features move together that no
per-column test sees."""

from __future__ import annotations

from typing import Any

from monitor.detect.findings import Finding
from monitor.detect.rule import Rule, WindowContext
from monitor.plugins import rule


@rule("multivariate_drift")
class MultivariateDrift(Rule):
    """Needs at least two features and 50 rows on both sides; fires at ``multivariate_auc``."""

    kinds = ("multivariate_drift",)
    fields = ("rules.multivariate_auc",)
    order = 70
    detection_key = "multivariate"

    def evaluate(self, context: WindowContext) -> list[Finding]:
        spec, sample, frame = context.spec, context.reference_sample, context.frame
        threshold = spec.rules.multivariate_auc
        numeric = [c for c in spec.columns.numeric if c in sample and c in frame]
        categorical = [c for c in spec.columns.categorical if c in sample and c in frame]
        if threshold is None or len(numeric) + len(categorical) < 2 or min(len(sample), len(frame)) < 50:
            return []
        from monitor.drift.multivariate import domain_classifier_drift

        result = domain_classifier_drift(sample, frame, numeric, categorical, sample=1000, threshold_auc=threshold)
        return [Finding(rule="multivariate_drift", kind="multivariate_drift",
                        status="firing" if result.drifted else "ok", message=result.message,
                        metric="domain_classifier_auc", value=result.auc, threshold=threshold,
                        details=result.to_json())]

    def summary(self, context: WindowContext, findings: list[Finding]) -> dict[str, Any] | None:
        return findings[0].details if findings else None
