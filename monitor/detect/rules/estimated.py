"""Performance estimated from scores while labels are missing (``monitor.estimation``).

While a window has fewer labelled rows than ``min_labelled_rows``, the performance rules run on
the estimated KPIs (rules ``estimated_<rule>``); once labels arrive the realised rules take over
and the estimated alerts resolve.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from monitor.detect.findings import Finding
from monitor.detect.rules.performance import PERFORMANCE_RULES, detect_performance_drop
from monitor.detect.rule import Rule, WindowContext
from monitor.kpis import label_key
from monitor.plugins import rule
from monitor.spec import ModelSpec, Task

KIND = "estimated_performance_drop"


def estimate_window(window: pd.DataFrame, spec: ModelSpec, calibration: dict | None) -> dict[str, Any] | None:
    """The CBPE estimate of the window's KPIs, or None when the model/window cannot have one."""
    if (spec.task is not Task.binary_classification or not calibration or not spec.rules.estimated_performance
            or window.empty or "score" not in window or window["score"].notna().sum() < 2):
        return None
    from monitor.estimation import estimate

    from monitor.kpis.labels import encode_labels

    calibrator = _calibrator(tuple(calibration["scores"]), tuple(calibration["labels"]))
    scores = window["score"].to_numpy(dtype=float, na_value=np.nan)
    scored = ~np.isnan(scores)
    every = bool(scored.all())  # the usual case: no row-filtered copies of a large window
    codes, keys = encode_labels(window["prediction"] if every else window["prediction"][scored])
    positive = label_key(spec.positive_label)
    predictions = np.array([key == positive for key in keys], dtype=bool)[codes]
    del codes
    result = estimate(scores if every else scores[scored], calibrator=calibrator, predictions=predictions,
                      positive_label=True)
    return result.to_json()


@lru_cache(maxsize=16)
def _calibrator(scores: tuple[float, ...], labels: tuple[int, ...]):
    """The reference's calibrator, fitted once per worker process and calibration (an isotonic fit
    costs milliseconds, a small check's budget; the key, the calibration's values, costs about
    0.1 ms). Deterministic, so a cached fit is the fit; nothing mutates a fitted calibrator."""
    from monitor.estimation import Calibrator

    return Calibrator().fit(list(scores), list(labels), positive_label=1)


def estimated_evaluations(estimated: dict[str, Any] | None, baseline: dict, labelled_rows: int,
                          spec: ModelSpec) -> list[Finding]:
    if estimated is None:
        return []
    rules = spec.rules
    if labelled_rows >= rules.min_labelled_rows:
        return [Finding(rule=f"estimated_{name}", kind=KIND, status="ok",
                               message=f"{labelled_rows} labelled rows: the realised KPIs apply")
                for name in _rule_names(estimated, rules)]
    evaluations = detect_performance_drop(estimated["kpis"], baseline, estimated["n"], rules)
    lower, upper = estimated.get("lower") or {}, estimated.get("upper") or {}
    return [replace(e, rule=f"estimated_{e.rule}", kind=KIND,
                    message=f"estimated without labels: {e.message} (95% band "
                            f"{_fmt(lower.get(e.metric))}..{_fmt(upper.get(e.metric))})",
                    details={**e.details, "lower": lower.get(e.metric), "upper": upper.get(e.metric),
                             "estimated": True})
            for e in evaluations]


def _rule_names(estimated: dict, rules) -> list[str]:
    """The performance rules that apply to the estimated KPIs (enabled, KPI estimated)."""
    return [name for name, (metric, field) in PERFORMANCE_RULES.items()
            if getattr(rules, field) is not None and metric in estimated["kpis"]]


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.3f}"


@rule("estimated_performance")
class EstimatedPerformanceDrop(Rule):
    """The performance rules on KPIs estimated from scores while the window lacks labels (binary
    classifiers with a calibration set); ``ok`` once enough labels arrive, so these alerts resolve."""

    kinds = (KIND,)
    fields = ("rules.estimated_performance", "rules.min_labelled_rows")
    order = 20

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        return tuple(f"estimated_{name}" for name in PERFORMANCE_RULES)

    def evaluate(self, context: WindowContext) -> list[Finding]:
        return estimated_evaluations(context.estimated, context.baseline, context.labelled_rows, context.spec)
