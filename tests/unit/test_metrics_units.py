"""``/metrics`` names and units: every service or host KPI leaves ``modelwatch_kpi`` for a family in
base units (Prometheus naming: ``_seconds``, ``_ratio``, ``_bytes``, ``_per_second``)."""

from __future__ import annotations

import re

import pytest

from frontdoors.api.metrics_kpis import SERVICE_KPIS, kpi_families
from monitor.db.schema import KpiValue
from monitor.service import HOST_KPIS, PROBE_KPIS
from monitor.service import SERVICE_KPIS as STORED_SERVICE_KPIS

BASE_UNIT = re.compile(r"^modelwatch_[a-z0-9_]+_(seconds|ratio|bytes|per_second)$")


def test_every_service_probe_and_host_kpi_has_a_base_unit_family():
    stored = {*STORED_SERVICE_KPIS, *PROBE_KPIS, *HOST_KPIS}
    assert stored - set(SERVICE_KPIS) == set(), "a service KPI would land in modelwatch_kpi in its stored unit"
    assert [kpi.family for kpi in SERVICE_KPIS.values() if not BASE_UNIT.match(kpi.family)] == []


def _samples(values: dict[str, float]) -> dict[str, list]:
    rows = [KpiValue(model_id=1, version="3", name=name, value=value) for name, value in values.items()]
    return {family.name: family.samples for family in kpi_families(rows, {1: "fraud"})}


def test_milliseconds_rpm_and_percentages_become_seconds_per_second_and_ratios():
    families = _samples({"accuracy": 0.91, "latency_p95_ms": 250.0, "throughput_rpm": 120.0, "error_rate": 0.02,
                         "availability": 0.995, "host_cpu_pct_p95": 83.0, "host_rss_mb_max": 3.0})
    value = {name: samples[0].value for name, samples in families.items() if samples}
    assert value == pytest.approx({"modelwatch_kpi": 0.91, "modelwatch_latency_p95_seconds": 0.25,
                                   "modelwatch_requests_per_second": 2.0, "modelwatch_error_ratio": 0.02,
                                   "modelwatch_availability_ratio": 0.995, "modelwatch_host_cpu_p95_ratio": 0.83,
                                   "modelwatch_host_rss_max_bytes": 3 * 2 ** 20})
    assert [s.labels for s in families["modelwatch_kpi"]] == [{"model": "fraud", "version": "3", "kpi": "accuracy"}]
    assert families["modelwatch_latency_p95_seconds"][0].labels == {"model": "fraud", "version": "3"}


def test_every_family_is_declared_even_without_values():
    families = _samples({})
    assert set(families) == {"modelwatch_kpi", *(kpi.family for kpi in SERVICE_KPIS.values())}


def test_the_module_example_holds():
    import doctest

    from frontdoors.api import metrics_kpis

    result = doctest.testmod(metrics_kpis)
    assert result.attempted and not result.failed
