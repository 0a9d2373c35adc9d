"""Service KPIs from the logs and the SLO rules on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor.detect.rules.service_slo import detect_service_slo
from monitor.service.kpis import service_kpis
from monitor.spec import Rules


def test_latency_percentiles_match_numpy_and_ignore_unlogged_rows():
    rng = np.random.default_rng(0)
    latency = rng.gamma(2, 30, 1000)
    frame = pd.DataFrame({"latency_ms": [*latency, None, None], "status": ["ok"] * 1002})
    kpis = service_kpis(frame, 600)
    assert kpis["latency_p95_ms"] == pytest.approx(np.percentile(latency, 95), rel=1e-12)
    assert kpis["latency_p99_ms"] == pytest.approx(np.percentile(latency, 99), rel=1e-12)
    assert kpis["throughput_rpm"] == pytest.approx(1002 / 10)
    assert kpis["error_rate"] == 0.0


def test_error_rate_counts_non_ok_statuses_over_logged_ones():
    frame = pd.DataFrame({"status": ["ok", "OK", "500", "timeout", None, "200"]})
    assert service_kpis(frame, 60)["error_rate"] == pytest.approx(2 / 5)


def test_nothing_logged_gives_none_and_insufficient_data():
    kpis = service_kpis(pd.DataFrame({"prediction": [1, 0]}), 60)
    assert kpis["latency_p95_ms"] is None and kpis["error_rate"] is None
    evaluations = detect_service_slo(kpis, Rules(latency_p95_ms=100, error_rate_pct=1))
    assert {e.rule: e.status for e in evaluations} == {"latency_p95": "insufficient_data",
                                                        "error_rate": "insufficient_data"}


@pytest.mark.parametrize(("kpis", "rules", "expected"), [
    ({"latency_p95_ms": 300.0}, {"latency_p95_ms": 250}, "firing"),
    ({"latency_p95_ms": 200.0}, {"latency_p95_ms": 250}, "ok"),
    ({"error_rate": 0.05}, {"error_rate_pct": 2}, "firing"),
    ({"error_rate": 0.01}, {"error_rate_pct": 2}, "ok"),
    ({"throughput_rpm": 3.0}, {"min_throughput_rpm": 10}, "firing"),
    ({"throughput_rpm": 30.0}, {"min_throughput_rpm": 10}, "ok"),
])
def test_slo_rules_fire_only_past_their_threshold(kpis, rules, expected):
    (evaluation,) = detect_service_slo(kpis, Rules(**rules))
    assert evaluation.status == expected and evaluation.kind == "service_slo"


def test_unset_slo_rules_are_not_evaluated():
    assert detect_service_slo({"latency_p95_ms": 9999.0}, Rules()) == []


def _old_service_kpis(window: pd.DataFrame, window_seconds: float) -> dict:
    """service_kpis as it was before it normalised each distinct status once (the reference)."""
    from monitor.service.kpis import OK_STATUSES, SERVICE_KPIS

    kpis = dict.fromkeys(SERVICE_KPIS)
    kpis["throughput_rpm"] = len(window) / (window_seconds / 60) if window_seconds > 0 else None
    if len(window) and "latency_ms" in window:
        latency = pd.to_numeric(window["latency_ms"], errors="coerce").to_numpy(dtype=float)
        latency = latency[np.isfinite(latency)]
        if latency.size:
            p50, p95, p99 = np.percentile(latency, [50, 95, 99])
            kpis.update(latency_p50_ms=float(p50), latency_p95_ms=float(p95), latency_p99_ms=float(p99))
    if len(window) and "status" in window:
        status = window["status"].dropna().astype(str).str.strip().str.lower()
        if len(status):
            kpis["error_rate"] = float((~status.isin(OK_STATUSES)).mean())
    return kpis


STATUSES = ["ok", " OK ", "Success", "500", "timeout", None, np.nan, "200", 200, 201.0, 500, True, "", "204 "]


@pytest.mark.parametrize("seed", range(8))
def test_service_kpis_are_what_they_were_on_mixed_statuses_and_latencies(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    statuses = [STATUSES[i] for i in rng.integers(0, len(STATUSES), n)]
    latency = rng.gamma(2, 30, n)
    latency[rng.random(n) < 0.2] = np.nan
    frames = [pd.DataFrame({"latency_ms": latency, "status": pd.Series(statuses, dtype=object)}),
              pd.DataFrame({"latency_ms": pd.Series([str(v) if v == v else None for v in latency], dtype=object),
                            "status": pd.Series([s if isinstance(s, str) else None for s in statuses], dtype="string")}),
              pd.DataFrame({"latency_ms": pd.Series([None] * n, dtype=float), "status": pd.Series([None] * n, dtype="str")}),
              pd.DataFrame({"latency_ms": latency, "status": rng.choice([200, 201, 500], n)})]
    for frame in frames:
        assert service_kpis(frame, 600) == _old_service_kpis(frame, 600)
