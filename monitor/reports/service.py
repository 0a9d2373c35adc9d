"""The report's Service section: the model as a running service, beside its model KPIs.

Latency, throughput and errors come from the logs; availability from health probes; CPU and
memory from ``modelwatch agent`` samples. Each row shows the SLO it is held to (when a rule is
set) and whether this window met it. Only KPIs the window actually measured are shown.
"""

from __future__ import annotations

from monitor.reports import svg
from monitor.reports.sections import DASH, as_dict, as_list

#: KPI -> (label, unit); a unit of "%" on a share (0..1) multiplies by 100
SERVICE_KPIS: dict[str, tuple[str, str]] = {
    "latency_p50_ms": ("Latency p50", "ms"),
    "latency_p95_ms": ("Latency p95", "ms"),
    "latency_p99_ms": ("Latency p99", "ms"),
    "throughput_rpm": ("Throughput", "requests/min"),
    "error_rate": ("Error rate", "share"),
    "availability": ("Availability (health probes)", "share"),
    "probe_latency_p95_ms": ("Health probe latency p95", "ms"),
    "host_cpu_pct_p95": ("Serving host CPU p95", "%"),
    "host_memory_pct_p95": ("Serving host memory p95", "%"),
    "host_disk_pct_max": ("Serving host disk (max)", "%"),
    "host_rss_mb_max": ("Serving process memory (max)", "MiB"),
}


def _value(value: object, unit: str) -> str:
    v = svg.finite(value)
    if v is None:
        return DASH
    if unit == "share":
        return f"{v * 100:.2f}%"
    if unit == "%":
        return f"{v:.1f}%"
    return f"{v:,.1f} {unit}"


def service(s: dict) -> str:
    """The Service section, or nothing when the window measured no service KPI."""
    kpis = as_dict(s.get("kpis"))
    slo = {str(f.get("metric")): f for f in as_list(s.get("findings"))
           if isinstance(f, dict) and f.get("kind") == "service_slo" and not f.get("segment")}
    rows = []
    for name, (label, unit) in SERVICE_KPIS.items():
        entry = kpis.get(name)
        value = entry.get("value") if isinstance(entry, dict) else entry
        finding = slo.get(name)
        if svg.finite(value) is None and finding is None:
            continue
        target = DASH
        if finding:
            threshold = svg.finite(finding.get("threshold"))
            bound = ">" if finding.get("rule", "").startswith("min_") else "<"
            suffix = "%" if unit in ("share", "%") else f" {unit}"
            target = DASH if threshold is None else f"{bound} {threshold:g}{suffix}"
        hit = isinstance(finding, dict) and finding.get("status") == "firing"
        rows.append({"label": label, "value": _value(value, unit), "target": target, "breached": hit,
                     "status": finding.get("status") if finding else None})
    if not rows:
        return ""
    from monitor.reports import templating

    return templating.render("service.html.j2", rows=rows)


#: the KPIs `modelwatch status` shows, with their short spelling
BRIEF = (("latency_p95_ms", "p95 {:.0f}ms"), ("error_rate", "errors {:.1%}"), ("throughput_rpm", "{:.0f} rpm"),
         ("availability", "up {:.1%}"), ("host_cpu_pct_p95", "cpu {:.0f}%"), ("host_memory_pct_p95", "mem {:.0f}%"))


def brief(kpis: dict[str, float]) -> str:
    """One line of service KPIs for a table cell; '-' when none was measured.

    >>> brief({"latency_p95_ms": 412.3, "error_rate": 0.005, "availability": 1.0})
    'p95 412ms, errors 0.5%, up 100.0%'
    """
    parts = [spelling.format(kpis[name]) for name, spelling in BRIEF if kpis.get(name) is not None]
    return ", ".join(parts) or "-"
