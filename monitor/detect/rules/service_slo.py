"""Service-level rules: absolute SLO thresholds on latency, errors, throughput, availability and
the serving host's CPU and memory."""

from __future__ import annotations

from monitor.detect.findings import Finding
from monitor.detect.rule import Rule, WindowContext
from monitor.plugins import rule
from monitor.spec import Rules

KIND = "service_slo"
#: rule -> (KPI, Rules field, whether the KPI must stay below the threshold, unit factor)
SERVICE_RULES: dict[str, tuple[str, str, bool, float]] = {
    "latency_p95": ("latency_p95_ms", "latency_p95_ms", True, 1.0),
    "error_rate": ("error_rate", "error_rate_pct", True, 0.01),
    "min_throughput": ("throughput_rpm", "min_throughput_rpm", False, 1.0),
    "min_availability": ("availability", "min_availability_pct", False, 0.01),
    "max_cpu": ("host_cpu_pct_p95", "max_cpu_pct", True, 1.0),
    "max_memory": ("host_memory_pct_p95", "max_memory_pct", True, 1.0),
}
#: why a KPI can be missing, for the ``insufficient_data`` message
MISSING = {
    "availability": "no health probe ran in this window (is service.health_url set and a worker "
                    "consuming the probes queue?)",
    "host_cpu_pct_p95": "no host sample for this model in this window (is `modelwatch agent` running?)",
    "host_memory_pct_p95": "no host sample for this model in this window (is `modelwatch agent` running?)",
}


def detect_service_slo(kpis: dict[str, float | None], rules: Rules) -> list[Finding]:
    """Evaluate each configured SLO rule on the window's service KPIs.

    >>> from monitor.spec import Rules
    >>> [e.status for e in detect_service_slo({"latency_p95_ms": 400.0}, Rules(latency_p95_ms=250))]
    ['firing']
    """
    evaluations = []
    for name, (metric, field, upper, factor) in SERVICE_RULES.items():
        threshold = getattr(rules, field)
        if threshold is None:
            continue
        value = kpis.get(metric)
        limit = threshold * factor
        if value is None:
            evaluations.append(Finding(rule=name, kind=KIND, status="insufficient_data", metric=metric,
                                              threshold=threshold,
                                              message=MISSING.get(metric, f"{metric} was not logged in this window")))
            continue
        breached = value > limit if upper else value < limit
        shown = f"{value * 100:.2f}%" if factor != 1.0 else f"{value:.1f}"
        bound = f"{threshold:g}%" if factor != 1.0 else f"{threshold:g}"
        verb = "above" if upper else "below"
        message = (f"{metric} {shown} is {verb} the SLO of {bound}" if breached
                   else f"{metric} {shown} meets the SLO of {bound}")
        evaluations.append(Finding(rule=name, kind=KIND, status="firing" if breached else "ok",
                                          metric=metric, value=value, threshold=threshold, message=message,
                                          severity=_severity(breached, upper, value, limit)))
    return evaluations


def _severity(breached: bool, upper: bool, value: float, limit: float) -> str:
    """Critical past twice an upper limit, or below half a lower one (e.g. availability under 50%)."""
    if not breached:
        return "warning"
    return "critical" if (value > 2 * limit if upper else value < limit / 2) else "warning"


@rule("service_slo")
class ServiceSlo(Rule):
    """Absolute SLOs on the window's service KPIs (logs, health probes, host samples); a rule runs
    only when its threshold is set."""

    kinds = (KIND,)
    fields = tuple(f"rules.{field}" for _, field, _, _ in SERVICE_RULES.values())
    order = 30

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        return tuple(SERVICE_RULES)

    def evaluate(self, context: WindowContext) -> list[Finding]:
        return detect_service_slo(context.service, context.spec.rules)
