"""KPI values for ``/metrics``, named and scaled the way Prometheus expects.

The store keeps KPIs under the names the spec uses (``latency_p95_ms``, ``throughput_rpm``,
``host_cpu_pct_p95``): milliseconds, requests per minute and percentages side by side. One gauge
holding all of them cannot be graphed on one axis nor compared with other exporters, so service
and host KPIs get a family each, in base units (seconds, per second, ratios 0..1, bytes), with the
statistic in the name (``modelwatch_latency_p95_seconds``), following
https://prometheus.io/docs/practices/naming/. Model-quality and interaction KPIs (accuracy,
recall, roc_auc, mae, click_through_rate, ...) stay in ``modelwatch_kpi``: they are scores of the
model, dimensionless or in the target's own unit, and are compared with each other.

>>> kpi = SERVICE_KPIS["latency_p95_ms"]
>>> kpi.family, 250.0 * kpi.scale
('modelwatch_latency_p95_seconds', 0.25)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily

from monitor.db.schema import KpiValue


@dataclass(frozen=True)
class ServiceKpi:
    """How one stored KPI becomes a sample: its family, its help text, and the factor to base units."""

    family: str
    help: str
    scale: float = 1.0


MS, PERCENT, MIB = 1e-3, 1e-2, float(2 ** 20)

#: stored KPI name -> its family. The statistic is in the name (``_p95_``, ``_max_``), not in a
#: ``quantile`` label: that label is reserved for summaries, and promtool rejects it on a gauge.
SERVICE_KPIS: dict[str, ServiceKpi] = {
    "latency_p50_ms": ServiceKpi("modelwatch_latency_p50_seconds", "Median request latency", MS),
    "latency_p95_ms": ServiceKpi("modelwatch_latency_p95_seconds", "95th percentile request latency", MS),
    "latency_p99_ms": ServiceKpi("modelwatch_latency_p99_seconds", "99th percentile request latency", MS),
    "probe_latency_p95_ms": ServiceKpi("modelwatch_probe_latency_p95_seconds", "95th percentile health-probe latency", MS),
    "throughput_rpm": ServiceKpi("modelwatch_requests_per_second", "Logged predictions per second", 1 / 60),
    "error_rate": ServiceKpi("modelwatch_error_ratio", "Share (0..1) of logged requests whose status was an error"),
    "availability": ServiceKpi("modelwatch_availability_ratio", "Share (0..1) of health probes that succeeded"),
    "host_cpu_pct_p95": ServiceKpi("modelwatch_host_cpu_p95_ratio", "95th percentile serving-host CPU use (0..1)", PERCENT),
    "host_memory_pct_p95": ServiceKpi("modelwatch_host_memory_p95_ratio", "95th percentile serving-host memory use (0..1)",
                                      PERCENT),
    "host_disk_pct_max": ServiceKpi("modelwatch_host_disk_max_ratio", "Highest serving-host disk use (0..1)", PERCENT),
    "host_rss_mb_max": ServiceKpi("modelwatch_host_rss_max_bytes", "Highest resident memory of the serving process tree",
                                  MIB),
}


def kpi_families(values: Iterable[KpiValue], names: dict[int, str]) -> Iterator[GaugeMetricFamily]:
    """``modelwatch_kpi`` for the model's own scores, then one family per service/host measure.

    Every family is yielded even when empty, so ``/metrics`` always declares the same names."""
    quality = GaugeMetricFamily("modelwatch_kpi", "Latest model-quality or interaction KPI (a score or ratio, "
                                "or in the target's unit for mae/rmse) of each model's last check",
                                labels=["model", "version", "kpi"])
    service = {kpi.family: GaugeMetricFamily(kpi.family, f"{kpi.help} over the model's latest check window",
                                             labels=["model", "version"]) for kpi in SERVICE_KPIS.values()}
    for value in values:
        model, version = names.get(value.model_id, "?"), value.version or ""
        kpi = SERVICE_KPIS.get(value.name)
        if kpi is None:
            quality.add_metric([model, version, value.name], value.value)
        else:
            service[kpi.family].add_metric([model, version], value.value * kpi.scale)
    yield quality
    yield from service.values()
