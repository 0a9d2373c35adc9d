"""The dashboard's SVG: sparklines, grouped KPI charts with thresholds and anomaly rings, the
alerts timeline, and anomaly indices mapped back to the points the detect stage saw."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

from frontdoors.dashboard.charts import alert_timeline, kpi_charts, sparkline
from frontdoors.dashboard.model_view import flagged_points
from frontdoors.dashboard.views import health_of, next_action, relative

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def ts(i: int) -> str:
    return (T0 + dt.timedelta(hours=i)).isoformat()


def test_sparkline_draws_one_line_per_unbroken_stretch_and_dots_the_latest_point():
    svg = sparkline([(ts(0), 0.9), (ts(1), 0.8), (ts(2), None), (ts(3), 0.7), (ts(4), 0.6)], "recall <b>")
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 1
    assert "recall &lt;b&gt;: 0.600 now" in svg and "<b>" not in svg
    assert sparkline([(ts(0), None)], "x") == ""


def test_kpi_charts_group_by_unit_with_thresholds_and_rings():
    history = {"recall": [(ts(i), 0.9 - i / 100) for i in range(5)],
               "precision": [(ts(i), 0.8) for i in range(5)],
               "latency_p95_ms": [(ts(i), 100.0 + i) for i in range(5)],
               "log_loss": [(ts(i), 0.3) for i in range(5)],
               "custom_kpi": [(ts(i), 3.0) for i in range(5)],
               "error_rate": [(ts(i), None) for i in range(5)]}
    charts = dict(kpi_charts(history, {"recall": 0.81, "latency_p95_ms": 250.0}, {"recall": {ts(4)}}))
    assert list(charts) == ["Model performance", "Latency (ms)", "custom_kpi"]
    performance = charts["Model performance"]
    assert "recall threshold 0.810" in performance and "stroke-dasharray" in performance
    assert performance.count('class="anomaly"') == 1
    assert len(re.findall(r'<circle cx="[\d.]+" cy="[\d.]+" r="3.5"', performance)) == 10
    assert "latency_p95_ms threshold 250.0" in charts["Latency (ms)"]


def test_anomaly_indices_point_into_the_history_as_the_run_saw_it():
    history = {"recall": [(ts(i), float(i)) for i in range(10)]}
    # the run ended at hour 7; it scanned points 0..7 and flagged its own (index 7) and index 2
    flagged = flagged_points(history, T0 + dt.timedelta(hours=7), {"recall": [2, 7, 99]})
    assert flagged == {"recall": {ts(2), ts(7)}}


def test_alert_timeline_draws_a_bar_per_episode_in_a_lane_per_rule_and_segment():
    now = T0 + dt.timedelta(hours=5)
    alert = lambda i, rule, seg, state, start, end=None: SimpleNamespace(  # noqa: E731
        id=i, rule=rule, segment=seg, state=state, severity="critical", message="<m>",
        first_seen=T0 + dt.timedelta(hours=start), resolved_at=end and T0 + dt.timedelta(hours=end))
    svg = alert_timeline([alert(1, "recall_drop", "", "resolved", 0, 1), alert(2, "recall_drop", "", "firing", 3),
                          alert(3, "data_drift", "feature=<x>", "firing", 4)], now)
    assert svg.count('class="alert-bar"') == 3
    assert "data_drift [feature=&lt;x&gt;]" in svg and "<x>" not in svg
    assert alert_timeline([], now) == ""


def test_health_and_the_next_action_a_person_should_look_at():
    run = SimpleNamespace(status="succeeded")
    assert health_of(None, []) == "unchecked"
    assert health_of(SimpleNamespace(status="failed"), []) == "failed"
    assert health_of(run, [SimpleNamespace(severity="warning")]) == "alerting"
    assert health_of(run, [SimpleNamespace(severity="critical")]) == "critical"
    soon, later = T0, T0 + dt.timedelta(hours=1)
    actions = [SimpleNamespace(state="scheduled", eta=soon), SimpleNamespace(state="pending_approval", eta=later),
               SimpleNamespace(state="succeeded", eta=soon)]
    assert next_action(actions).state == "pending_approval"
    assert next_action(actions[2:]) is None
    assert relative(T0 + dt.timedelta(minutes=5), T0) == "in 5 min"
    assert relative(T0 - dt.timedelta(hours=3), T0) == "3 h ago"


def test_probe_and_host_kpis_are_service_tiles_not_model_ones():
    from frontdoors.dashboard.model_view import tiles
    from monitor.spec import Rules

    summary = {"kpis": {name: {"value": value, "baseline": None, "change_pct": None} for name, value in
                        {"recall": 0.8, "latency_p95_ms": 80.0, "availability": 0.95,
                         "probe_latency_p95_ms": 30.0, "host_cpu_pct_p95": 91.0}.items()},
               "findings": [{"status": "firing", "metric": "availability", "segment": ""}]}
    rules = Rules(min_availability_pct=99)
    service = {t.name: t for t in tiles(summary, service=True, rules=rules)}
    assert set(service) == {"latency_p95_ms", "availability", "probe_latency_p95_ms", "host_cpu_pct_p95"}
    assert [t.name for t in tiles(summary, service=False, rules=rules)] == ["recall"]
    assert service["availability"].reference == 0.99 and service["availability"].breached
