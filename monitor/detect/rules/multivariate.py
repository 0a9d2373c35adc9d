"""Joint (multivariate) drift: a domain classifier's ROC-AUC at telling reference rows from window
rows (``monitor.drift.multivariate``). It catches shifts in how features move together that no
per-column test sees.

It runs on the cadence of ``rules.drift.joint`` (:func:`joint_drift_due`): the classifier's cost
is fixed per check, so on small models it was a quarter of a check's CPU. It runs after the
per-feature drift rule (``order`` 70 > 50), whose findings it reads from ``context.earlier``.
"""

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
        if not joint_drift_due(context):
            return []
        from monitor.drift.multivariate import domain_classifier_drift

        result = domain_classifier_drift(sample, frame, numeric, categorical, sample=1000, threshold_auc=threshold)
        return [Finding(rule="multivariate_drift", kind="multivariate_drift",
                        status="firing" if result.drifted else "ok", message=result.message,
                        metric="domain_classifier_auc", value=result.auc, threshold=threshold,
                        details=result.to_json())]

    def summary(self, context: WindowContext, findings: list[Finding]) -> dict[str, Any] | None:
        return findings[0].details if findings else None


def joint_drift_due(context: WindowContext) -> bool:
    """Whether this check runs the classifier: ``always``; whenever a single-feature test fired
    on this window (``data_drift`` firing, unless the cadence is ``always`` that is the trigger of
    ``on_feature_drift``); and with ``every_n_checks`` on the model's 1st, (N+1)th, (2N+1)th ...
    check. A check whose number is unknown (a notebook, a test's bare context) runs it.

    >>> from monitor.spec import ModelSpec
    >>> spec = ModelSpec(name="m", task="binary_classification", rules={"drift": {"joint": {"every": 3}}})
    >>> [joint_drift_due(WindowContext(spec, check_number=n)) for n in (1, 2, 3, 4)]
    [True, False, False, True]
    """
    joint = context.spec.rules.drift.joint
    if joint.run == "always":
        return True
    if any(f.kind == "data_drift" and f.status == "firing" for f in context.earlier):
        return True
    if joint.run == "on_feature_drift":
        return False
    return context.check_number is None or (context.check_number - 1) % joint.every == 0
