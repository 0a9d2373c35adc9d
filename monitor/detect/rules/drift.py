"""Per-column drift of the features (``data_drift``) and of the model's outputs
(``prediction_drift``), for the whole window and, against each segment's own reference, for each
segment value (``monitor.drift``: a test's BH-adjusted p-value and an effect size)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from monitor.detect.findings import Finding
from monitor.detect.frames import OUTPUTS, readable
from monitor.detect.rule import Rule, WindowContext
from monitor.plugins import rule
from monitor.reference import WHOLE, drift_columns, segments_of
from monitor.spec import ModelSpec


@rule("drift")
class Drift(Rule):
    """Feature and output drift against the reference; a segment's findings leave out the segment
    column itself (it cannot drift within its own segment)."""

    kinds = ("data_drift", "prediction_drift")
    fields = ("rules.drift", "rules.drift_p_value", "rules.prediction_drift")
    order = 50
    detection_key = "drift"

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        return cls.kinds

    def evaluate(self, context: WindowContext) -> list[Finding]:
        spec, frame = context.spec, context.frame
        if context.drift_reference is None or not spec.rules.drift.enabled or frame.empty:
            return []
        from monitor.drift.reference import DriftReference

        # One reference decoded at a time (the whole reference of a large version is tens of MB,
        # and unpacking every segment's at once held three copies of the bundle).
        with np.load(io.BytesIO(context.drift_reference), allow_pickle=False) as references:
            def reference(key: str) -> DriftReference:
                return DriftReference.from_bytes(references[key].tobytes())

            findings = _drift(reference(WHOLE), frame, spec, "")
            for column in spec.columns.segments:
                if column not in frame:
                    continue
                for segment, part in segments_of(frame, column):
                    if segment in references.files:
                        more = _drift(reference(segment), part, spec, segment)
                        findings += [f for f in more if f.details.get("column") != column]
        return findings

    def summary(self, context: WindowContext, findings: list[Finding]) -> list[dict[str, Any]]:
        """The whole window's per-column results (the report's drift table)."""
        return [f.details for f in findings if f.segment == _whole_segment(f.details["column"])]


def _whole_segment(column: str) -> str:
    return f"{'output' if column in OUTPUTS else 'feature'}={column}"


def _drift(reference, frame: pd.DataFrame, spec: ModelSpec, segment: str) -> list[Finding]:
    from monitor.drift import detect_drift

    rules = spec.rules
    numeric, categorical = drift_columns(spec, frame)
    if not rules.prediction_drift:
        numeric = [c for c in numeric if c not in OUTPUTS]
        categorical = [c for c in categorical if c not in OUTPUTS]
    results = detect_drift(reference, frame, numeric=numeric, categorical=categorical, **rules.drift.options())
    prefix = f"{segment}," if segment else ""
    findings = []
    for result in results:
        output = result.column in OUTPUTS
        message = readable(result.skipped or result.message)
        status = "insufficient_data" if result.skipped else ("firing" if result.drifted else "ok")
        findings.append(Finding(
            rule="prediction_drift" if output else "data_drift",
            kind="prediction_drift" if output else "data_drift", status=status,
            segment=f"{prefix}{_whole_segment(result.column)}",
            message=f"[{segment}] {message}" if segment else message, metric=result.effect_method,
            value=result.effect_size, threshold=result.threshold_effect, details=result.to_json()))
    return findings
