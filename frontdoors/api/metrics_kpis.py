"""KPI values for ``/metrics``, named and scaled the way Prometheus expects.

The store keeps KPIs under the names the spec uses (``latency_p95_ms``, ``throughput_rpm``,
``host_cpu_pct_p95``): milliseconds, requests per minute and percentages side by side. One gauge
holding all of them cannot be graphed on one axis nor compared with other exporters, so service
and host KPIs get a family each, in base units (seconds, per second, ratios 0..1, bytes), following
https://prometheus.io/docs/practices/naming/. Model-quality and interaction KPIs (accuracy,
recall, roc_auc, mae, click_through_rate, ...) stay in ``modelwatch_kpi``: they are scores of the
model, dimensionless or in the target's own unit, and are compared with each other.

>>> SERVICE_KPIS["latency_p95_ms"].sample(250.0)
({'quantile': '0.95'}, 0.25)
>>> SERVICE_KPIS["throughput_rpm"].sample(120.0)
({}, 2.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily

from monitor.db.schema import KpiValue


@dataclass(frozen=True)
class ServiceKpi:
    """How one stored KPI becomes a sample: its family, extra labels, and the factor to base units."""

    family: str
    scale: float = 1.0
    labels: dict[str, str] = field(default_factory=dict)

    def sample(self, value: float) -> tuple[dict[str, str], float]:
        return dict(self.labels), value * self.scale


MS, PERCENT, MIB = 1e-3, 1e-2, float(2 ** 20)

#: stored KPI name -> its family; a window's maximum is exposed as ``quantile="1"``
SERVICE_KPIS: dict[str, ServiceKpi] = {
    "latency_p50_ms": ServiceKpi("modelwatch_latency_seconds", MS, {"quantile": "0.5"}),
    "latency_p95_ms": ServiceKpi("modelwatch_latency_seconds", MS, {"quantile": "0.95"}),
    "latency_p99_ms": ServiceKpi("modelwatch_latency_seconds", MS, {"quantile": "0.99"}),
    "probe_latency_p95_ms": ServiceKpi("modelwatch_probe_latency_seconds", MS, {"quantile": "0.95"}),
    "throughput_rpm": ServiceKpi("modelwatch_requests_per_second", 1 / 60),
    "error_rate": ServiceKpi("modelwatch_error_ratio"),
    "availability": ServiceKpi("modelwatch_availability_ratio"),
    "host_cpu_pct_p95": ServiceKpi("modelwatch_host_cpu_ratio", PERCENT, {"quantile": "0.95"}),
    "host_memory_pct_p95": ServiceKpi("modelwatch_host_memory_ratio", PERCENT, {"quantile": "0.95"}),
    "host_disk_pct_max": ServiceKpi("modelwatch_host_disk_ratio", PERCENT, {"quantile": "1"}),
    "host_rss_mb_max": ServiceKpi("modelwatch_host_rss_bytes", MIB, {"quantile": "1"}),
}

FAMILY_HELP = {
    "modelwatch_latency_seconds": "Request latency quantiles over the model's latest check window",
    "modelwatch_probe_latency_seconds": "Health-probe latency quantile over the latest check window",
    "modelwatch_requests_per_second": "Logged predictions per second over the latest check window",
    "modelwatch_error_ratio": "Share (0..1) of logged requests whose status was an error, latest window",
    "modelwatch_availability_ratio": "Share (0..1) of health probes that succeeded, latest window",
    "modelwatch_host_cpu_ratio": "Serving host CPU use (0..1) over the latest window, by quantile",
    "modelwatch_host_memory_ratio": "Serving host memory use (0..1) over the latest window, by quantile",
    "modelwatch_host_disk_ratio": "Serving host disk use (0..1), the window's maximum (quantile 1)",
    "modelwatch_host_rss_bytes": "Resident memory of the serving process tree, the window's maximum (quantile 1)",
}


def kpi_families(values: Iterable[KpiValue], names: dict[int, str]) -> Iterator[GaugeMetricFamily]:
    """``modelwatch_kpi`` for the model's own scores, then one family per service/host measure.

    Every family is yielded even when empty, so ``/metrics`` always declares the same names."""
    quality = GaugeMetricFamily("modelwatch_kpi", "Latest model-quality or interaction KPI (a score or ratio, "
                                "or in the target's unit for mae/rmse) of each model's last check",
                                labels=["model", "version", "kpi"])
    service = {name: GaugeMetricFamily(name, help_text, labels=["model", "version", *_extra_labels(name)])
               for name, help_text in FAMILY_HELP.items()}
    for value in values:
        model, version = names.get(value.model_id, "?"), value.version or ""
        kpi = SERVICE_KPIS.get(value.name)
        if kpi is None:
            quality.add_metric([model, version, value.name], value.value)
            continue
        labels, scaled = kpi.sample(value.value)
        service[kpi.family].add_metric([model, version, *labels.values()], scaled)
    yield quality
    yield from service.values()


def _extra_labels(family: str) -> list[str]:
    for kpi in SERVICE_KPIS.values():
        if kpi.family == family:
            return list(kpi.labels)
    raise KeyError(family)
