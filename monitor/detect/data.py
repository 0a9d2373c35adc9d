"""Findings about the data and the model's outputs: per-feature drift, prediction drift, variance
change, joint (multivariate) drift and data quality. Each turns a method's result into
:class:`RuleEvaluation` values, so the alert lifecycle treats them like performance rules.

Alert identity is (model, rule, segment); here the segment names what the finding is about:
``feature=income``, ``output=__score__``, ``check=missing,column=age``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from monitor.detect.findings import RuleEvaluation
from monitor.reference import PREDICTION, SCORE, WHOLE, drift_columns, drift_frame, segments_of, unpack
from monitor.spec import ModelSpec

OUTPUTS = (SCORE, PREDICTION)
FINDING_KINDS = ("data_drift", "prediction_drift", "variance_change", "multivariate_drift", "data_quality")


def window_frame(window: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The window in the reference's drift layout (features plus reserved output columns)."""
    return drift_frame(window, spec, prediction="prediction", score="score" if "score" in window else None)


READABLE = {SCORE: "the model score", PREDICTION: "the predicted class"}


def readable(text: str) -> str:
    """Messages name the model's outputs in words, not by their reserved column names."""
    for column, words in READABLE.items():
        text = text.replace(column, words)
    return text


def _status(skipped: str | None, drifted: bool) -> str:
    return "insufficient_data" if skipped else ("firing" if drifted else "ok")


def drift_evaluations(reference_bundle: bytes | None, frame: pd.DataFrame, spec: ModelSpec
                      ) -> tuple[list[RuleEvaluation], list[dict[str, Any]]]:
    """Per-column drift of features (``data_drift``) and outputs (``prediction_drift``), for the
    whole window and, against each segment's own reference, for each segment value."""
    rules = spec.rules
    if reference_bundle is None or not rules.drift.enabled or frame.empty:
        return [], []
    from monitor.drift.reference import DriftReference

    references = unpack(reference_bundle)
    evaluations, details = _drift(DriftReference.from_bytes(references[WHOLE]), frame, spec, "")
    for column in spec.columns.segments:
        if column not in frame:
            continue
        for segment, part in segments_of(frame, column):
            if segment in references:
                more, _ = _drift(DriftReference.from_bytes(references[segment]), part, spec, segment)
                evaluations += [e for e in more if e.details.get("column") != column]
    return evaluations, details


def _drift(reference, frame: pd.DataFrame, spec: ModelSpec, segment: str
           ) -> tuple[list[RuleEvaluation], list[dict[str, Any]]]:
    from monitor.drift import detect_drift

    rules = spec.rules
    numeric, categorical = drift_columns(spec, frame)
    if not rules.prediction_drift:
        numeric = [c for c in numeric if c not in OUTPUTS]
        categorical = [c for c in categorical if c not in OUTPUTS]
    results = detect_drift(reference, frame, numeric=numeric, categorical=categorical, **rules.drift.options())
    prefix = f"{segment}," if segment else ""
    evaluations = []
    for result in results:
        output = result.column in OUTPUTS
        message = readable(result.skipped or result.message)
        evaluations.append(RuleEvaluation(
            rule="prediction_drift" if output else "data_drift",
            kind="prediction_drift" if output else "data_drift",
            status=_status(result.skipped, result.drifted),
            segment=f"{prefix}{'output' if output else 'feature'}={result.column}",
            message=f"[{segment}] {message}" if segment else message, metric=result.effect_method,
            value=result.effect_size, threshold=result.threshold_effect, details=result.to_json()))
    return evaluations, [r.to_json() for r in results]


def variance_evaluations(sample: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec
                         ) -> tuple[list[RuleEvaluation], dict[str, Any]]:
    """Brown–Forsythe variance change on the model score and each numeric feature."""
    if spec.rules.variance_p_value is None or sample.empty or frame.empty:
        return [], {}
    from monitor.drift.variance import variance_changes

    columns = [c for c in [SCORE, *spec.columns.numeric] if c in sample and c in frame]
    results = variance_changes(sample, frame, columns, p_value=spec.rules.variance_p_value,
                               min_ratio=spec.rules.variance_min_ratio)
    evaluations = [RuleEvaluation(
        rule="variance_change", kind="variance_change", status="firing" if r.drifted else "ok",
        segment=f"{'output' if c == SCORE else 'feature'}={c}", message=f"{readable(c)}: {r.message}",
        metric="variance_ratio",
        value=r.variance_ratio if r.variance_ratio is not None and r.variance_ratio != float("inf") else None,
        threshold=spec.rules.variance_min_ratio, details=r.to_json()) for c, r in results.items()]
    return evaluations, {c: r.to_json() for c, r in results.items()}


def multivariate_evaluation(sample: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec
                            ) -> tuple[list[RuleEvaluation], dict[str, Any] | None]:
    """A domain classifier's ROC-AUC between reference and window rows (joint shifts)."""
    threshold = spec.rules.multivariate_auc
    numeric = [c for c in spec.columns.numeric if c in sample and c in frame]
    categorical = [c for c in spec.columns.categorical if c in sample and c in frame]
    if threshold is None or len(numeric) + len(categorical) < 2 or min(len(sample), len(frame)) < 50:
        return [], None
    from monitor.drift.multivariate import domain_classifier_drift

    result = domain_classifier_drift(sample, frame, numeric, categorical, sample=1000, threshold_auc=threshold)
    evaluation = RuleEvaluation(rule="multivariate_drift", kind="multivariate_drift",
                                status="firing" if result.drifted else "ok", message=result.message,
                                metric="domain_classifier_auc", value=result.auc, threshold=threshold,
                                details=result.to_json())
    return [evaluation], result.to_json()


def quality_evaluations(stats: dict[str, dict] | None, window: pd.DataFrame, spec: ModelSpec, quarantined: int
                        ) -> tuple[list[RuleEvaluation], dict[str, Any]]:
    """Data-quality issues; one ``ok`` wildcard finding resolves issues that went away."""
    if not stats or window.empty:  # an empty window says nothing about the data's quality
        return [], {}
    from monitor.quality import assess_quality, histograms

    rules = spec.rules
    features = window[[c for c in window.columns if c in stats or c not in _LOG_COLUMNS]]
    issues = assess_quality(stats, features, spec.columns.numeric, spec.columns.categorical,
                            quarantined=quarantined,
                            max_missing_increase=rules.missing_increase if rules.missing_increase is not None else 1.0,
                            max_out_of_range=rules.out_of_range_share if rules.out_of_range_share is not None else 1.0)
    evaluations = [RuleEvaluation(rule="data_quality", kind="data_quality", status="firing", severity=i.severity,
                                  segment=f"check={i.check}" + (f",column={i.column}" if i.column else ""),
                                  message=i.message, metric=i.check, value=i.value, baseline=i.reference_value,
                                  threshold=i.threshold, details=i.to_json()) for i in issues]
    evaluations.append(RuleEvaluation(rule="data_quality", kind="data_quality", status="ok", segment="*",
                                      message="no longer found in the window"))
    return evaluations, {"issues": [i.to_json() for i in issues], "histograms": histograms(stats, features)}


_LOG_COLUMNS = {"request_id", "ts", "version", "prediction", "score", "latency_ms", "status", "label"}
