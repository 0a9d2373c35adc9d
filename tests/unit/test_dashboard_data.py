"""What the dashboard's pages read: health, the next action, alerts grouped by cause, anomaly
indices mapped back to the points the detect stage saw, service tiles, and KPI charts grouped by
unit with thresholds, baselines and anomaly marks."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from frontdoors.dashboard.fleet import groups, health_of, next_action
from frontdoors.dashboard.model_page import flagged_points, tiles

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def ts(i: int) -> str:
    return (T0 + dt.timedelta(hours=i)).isoformat()


def test_anomaly_indices_point_into_the_history_as_the_run_saw_it():
    history = {"recall": [(ts(i), float(i)) for i in range(10)]}
    # the run ended at hour 7; it scanned points 0..7 and flagged its own (index 7) and index 2
    flagged = flagged_points(history, T0 + dt.timedelta(hours=7), {"recall": [2, 7, 99]})
    assert flagged == {"recall": {ts(2), ts(7)}}


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


def test_open_alerts_group_by_cause_most_severe_and_widest_first():
    alert = lambda i, model, rule, severity: SimpleNamespace(  # noqa: E731
        id=i, model_id=model, rule=rule, kind="drift" if "drift" in rule else "performance", severity=severity,
        first_seen=T0 + dt.timedelta(minutes=i))
    rows = groups([alert(1, 1, "data_drift", "warning"), alert(2, 2, "data_drift", "warning"),
                   alert(3, 3, "data_drift", "warning"), alert(4, 1, "recall_drop", "critical"),
                   alert(5, 2, "latency", "warning")], {1: "fraud", 2: "churn", 3: "ltv"})
    assert [(g["rule"], g["count"], g["severity"]) for g in rows] == [
        ("recall_drop", 1, "critical"), ("data_drift", 3, "warning"), ("latency", 1, "warning")]
    assert rows[1]["models"] == ["churn", "fraud", "ltv"] and rows[1]["alerts"] == [1, 2, 3]
    assert rows[1]["since"] == (T0 + dt.timedelta(minutes=1)).isoformat()
    assert groups([], {}) == []


def test_probe_and_host_kpis_are_service_tiles_not_model_ones():
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
