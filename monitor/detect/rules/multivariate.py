"""Joint (multivariate) drift: a domain classifier's ROC-AUC at telling reference rows from window
rows (``monitor.drift.multivariate``). It catches shifts in how features move together that no
per-column test sees.

It runs on the cadence of ``rules.drift.joint`` (:func:`joint_drift_due`): the classifier's cost
is fixed per check, so on small models it was a quarter of a check's CPU. It runs after the
per-feature drift rule (``order`` 70 > 50), whose findings it reads from ``context.earlier``.
"""

from __future__ import annotations

import zlib
from typing import Any

import pandas as pd

from monitor.detect.findings import Finding
from monitor.detect.rule import ColumnRule, ColumnStep, WindowContext
from monitor.plugins import rule

#: rows of the window (and of the reference sample) the domain classifier is trained on
SAMPLE_ROWS = 1000


@rule("multivariate_drift")
class MultivariateDrift(ColumnRule):
    """Needs at least two features and 50 rows on both sides; fires at ``multivariate_auc``."""

    kinds = ("multivariate_drift",)
    fields = ("rules.multivariate_auc",)
    order = 70
    detection_key = "multivariate"

    def column_step(self, context: WindowContext) -> "_SampleStep | None":
        spec, sample, frame = context.spec, context.reference_sample, context.frame
        threshold = spec.rules.multivariate_auc
        numeric = [c for c in spec.columns.numeric if c in sample and c in frame]
        categorical = [c for c in spec.columns.categorical if c in sample and c in frame]
        if threshold is None or len(numeric) + len(categorical) < 2 or min(len(sample), len(frame)) < 50:
            return None
        return _SampleStep(sample, len(frame), numeric, categorical, threshold)

    def summary(self, context: WindowContext, findings: list[Finding]) -> dict[str, Any] | None:
        return findings[0].details if findings else None


class _SampleStep(ColumnStep):
    """Takes the classifier's sample of window rows from each feature in its turn of the shared
    pass (a few thousand values, cheap even when the cadence then skips the classifier: whether it
    runs can depend on the drift rule's findings, known only after the pass)."""

    def __init__(self, reference: pd.DataFrame, window_rows: int, numeric: list[str], categorical: list[str],
                 threshold: float):
        from monitor.drift.sampling import window_sample_rows

        self.reference, self.numeric, self.categorical, self.threshold = reference, numeric, categorical, threshold
        self.columns = [*numeric, *categorical]
        self.rows = window_sample_rows(len(reference), window_rows, SAMPLE_ROWS)
        self.taken: dict[str, pd.Series] = {}

    def take(self, name: str, values: pd.Series) -> None:
        part = values if self.rows is None else values.iloc[self.rows]
        self.taken[name] = part.reset_index(drop=True)

    def finish(self, context: WindowContext) -> list[Finding]:
        if not joint_drift_due(context):
            return []
        from monitor.drift.multivariate import domain_classifier_drift

        window = pd.DataFrame({name: self.taken[name] for name in self.columns}, copy=False)
        result = domain_classifier_drift(self.reference, window, self.numeric, self.categorical, sample=SAMPLE_ROWS,
                                         threshold_auc=self.threshold)
        return [Finding(rule="multivariate_drift", kind="multivariate_drift",
                        status="firing" if result.drifted else "ok", message=result.message,
                        metric="domain_classifier_auc", value=result.auc, threshold=self.threshold,
                        details=result.to_json())]


def joint_drift_due(context: WindowContext) -> bool:
    """Whether this check runs the classifier: ``always``; whenever a single-feature test fired
    on this window (``data_drift`` firing, unless the cadence is ``always`` that is the trigger of
    ``on_feature_drift``); and with ``every_n_checks`` on every N-th check of the model, starting
    from its :func:`joint_drift_offset` (so a fleet registered at once does not run every
    classifier in the same cycle). A check whose number is unknown (a notebook, a test's bare
    context) runs it.

    >>> from monitor.spec import ModelSpec
    >>> spec = ModelSpec(name="m", task="binary_classification", rules={"drift": {"joint": {"every": 3}}})
    >>> joint_drift_offset("m", 3)
    2
    >>> [joint_drift_due(WindowContext(spec, check_number=n)) for n in (1, 2, 3, 4, 5, 6)]
    [False, False, True, False, False, True]
    """
    joint = context.spec.rules.drift.joint
    if joint.run == "always":
        return True
    if any(f.kind == "data_drift" and f.status == "firing" for f in context.earlier):
        return True
    if joint.run == "on_feature_drift":
        return False
    if context.check_number is None:
        return True
    return (context.check_number - 1 - joint_drift_offset(context.spec.name, joint.every)) % joint.every == 0


def joint_drift_offset(model: str, every: int) -> int:
    """Which of every ``every`` checks runs the model's classifier: its (offset+1)th, then each
    ``every``-th after it. CRC-32 of the model's name, not ``hash()``: the same in every worker
    process and across restarts (Python salts ``hash`` of a str per process), so a model keeps its
    turn, while names of a fleet spread evenly over the ``every`` turns."""
    return zlib.crc32(model.encode("utf-8")) % every
