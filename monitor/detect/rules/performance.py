"""Performance drop: a KPI falls (or an error metric rises) too far relative to its baseline.

The rule is relative, ``(baseline - value) / baseline``, so one threshold reads the same for a
model at 0.95 recall and one at 0.60. It needs ``min_labelled_rows`` labelled rows in the window
before it may fire, so a handful of early labels cannot page anyone.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.detect.findings import Finding
from monitor.detect.rule import Rule, WindowContext
from monitor.kpis import LOWER_IS_BETTER
from monitor.plugins import rule
from monitor.spec import Rules

KIND = "performance_drop"
FINDING_KINDS = (KIND,)

#: rule name -> (KPI, field of Rules holding its threshold in percent)
PERFORMANCE_RULES: dict[str, tuple[str, str]] = {
    "accuracy_drop": ("accuracy", "accuracy_drop_pct"),
    "precision_drop": ("precision", "precision_drop_pct"),
    "recall_drop": ("recall", "recall_drop_pct"),
    "f1_drop": ("f1", "f1_drop_pct"),
    "roc_auc_drop": ("roc_auc", "roc_auc_drop_pct"),
    "r2_drop": ("r2", "r2_drop_pct"),
    "mae_increase": ("mae", "mae_increase_pct"),
    "rmse_increase": ("rmse", "rmse_increase_pct"),
}


def rule_names() -> list[str]:
    return list(PERFORMANCE_RULES)


def relative_change(value: float, baseline: float, metric: str) -> float | None:
    """How much worse ``value`` is than ``baseline``, in percent (positive = worse)."""
    if baseline == 0:
        return None
    change = (value - baseline) / abs(baseline) * 100
    return change if metric in LOWER_IS_BETTER else -change


def detect_performance_drop(
    kpis: dict[str, float | None],
    baseline: dict[str, float | None],
    labelled_rows: int,
    rules: Rules,
) -> list[Finding]:
    """Evaluate every enabled performance rule whose KPI exists for this model.

    >>> from monitor.spec import Rules
    >>> [e.status for e in detect_performance_drop({"recall": 0.5}, {"recall": 0.8}, 500, Rules())
    ...  if e.rule == "recall_drop"]
    ['firing']
    """
    evaluations = []
    for name, (metric, field_name) in PERFORMANCE_RULES.items():
        threshold = getattr(rules, field_name)
        if threshold is None or metric not in kpis or metric not in baseline:
            continue
        value, base = kpis.get(metric), baseline.get(metric)
        common = dict(rule=name, kind=KIND, metric=metric, value=value, baseline=base, threshold=threshold)
        if labelled_rows < rules.min_labelled_rows:
            evaluations.append(Finding(
                status="insufficient_data",
                message=f"{metric}: {labelled_rows} labelled rows, the rule needs {rules.min_labelled_rows}",
                **common))
            continue
        if value is None or base is None:
            evaluations.append(Finding(
                status="insufficient_data", message=f"{metric} could not be computed for this window",
                **common))
            continue
        change = relative_change(value, base, metric)
        if change is None:
            continue
        direction = "rose" if metric in LOWER_IS_BETTER else "fell"
        if change > threshold:
            severity = "critical" if change > 2 * threshold else "warning"
            message = (f"{metric} {direction} {change:.1f}% against its baseline {base:.3f} "
                       f"(to {value:.3f}); the rule allows {threshold:g}%")
            evaluations.append(Finding(status="firing", message=message, severity=severity,
                                              details={"change_pct": change}, **common))
        else:
            message = f"{metric} {value:.3f} is within {threshold:g}% of its baseline {base:.3f}"
            evaluations.append(Finding(status="ok", message=message,
                                              details={"change_pct": change}, **common))
    return evaluations


@rule("performance")
class PerformanceDrop(Rule):
    """Realised KPIs against the reference baseline, for the whole window and each segment value
    (against the segment's own baseline; its findings carry the segment and say so)."""

    kinds = FINDING_KINDS
    fields = ("rules.min_labelled_rows", *(f"rules.{field}" for _, field in PERFORMANCE_RULES.values()))
    order = 10

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        return tuple(PERFORMANCE_RULES)

    def evaluate(self, context: WindowContext) -> list[Finding]:
        rules = context.spec.rules
        findings = detect_performance_drop(context.kpis, context.baseline, context.labelled_rows, rules)
        for segment, part in context.segments.items():
            findings += [replace(e, segment=segment, message=f"[{segment}] {e.message}")
                         for e in detect_performance_drop(part.kpis, part.baseline, part.labelled_rows, rules)]
        return findings
