"""Service-level rules: absolute SLO thresholds on latency, errors and throughput."""

from __future__ import annotations

from monitor.detect.findings import RuleEvaluation
from monitor.spec import Rules

KIND = "service_slo"
#: rule -> (KPI, Rules field, whether the KPI must stay below the threshold, unit factor)
SERVICE_RULES: dict[str, tuple[str, str, bool, float]] = {
    "latency_p95": ("latency_p95_ms", "latency_p95_ms", True, 1.0),
    "error_rate": ("error_rate", "error_rate_pct", True, 0.01),
    "min_throughput": ("throughput_rpm", "min_throughput_rpm", False, 1.0),
}


def detect_service_slo(kpis: dict[str, float | None], rules: Rules) -> list[RuleEvaluation]:
    """Evaluate each configured SLO rule on the window's service KPIs.

    >>> from monitor.spec import Rules
    >>> [e.status for e in detect_service_slo({"latency_p95_ms": 400.0}, Rules(latency_p95_ms=250))]
    ['firing']
    """
    evaluations = []
    for rule, (metric, field, upper, factor) in SERVICE_RULES.items():
        threshold = getattr(rules, field)
        if threshold is None:
            continue
        value = kpis.get(metric)
        limit = threshold * factor
        if value is None:
            evaluations.append(RuleEvaluation(rule=rule, kind=KIND, status="insufficient_data", metric=metric,
                                              threshold=threshold, message=f"{metric} was not logged in this window"))
            continue
        breached = value > limit if upper else value < limit
        shown = f"{value * 100:.2f}%" if factor != 1.0 else f"{value:.1f}"
        bound = f"{threshold:g}%" if factor != 1.0 else f"{threshold:g}"
        verb = "above" if upper else "below"
        message = (f"{metric} {shown} is {verb} the SLO of {bound}" if breached
                   else f"{metric} {shown} meets the SLO of {bound}")
        evaluations.append(RuleEvaluation(rule=rule, kind=KIND, status="firing" if breached else "ok",
                                          metric=metric, value=value, threshold=threshold, message=message,
                                          severity="critical" if breached and upper and value > 2 * limit else "warning"))
    return evaluations
