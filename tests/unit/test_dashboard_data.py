"""What the dashboard's model and alerts pages read: service tiles apart from model ones, and who
acknowledged an alert."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from frontdoors.dashboard.model_page import tiles

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


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


def test_the_alerts_page_shows_who_acknowledged_from_the_audit_trail():
    from frontdoors.dashboard.alerts import alert_json

    alert = SimpleNamespace(id=3, rule="recall_drop", kind="performance", segment="", state="firing",
                            severity="critical", message="m", value=0.5, baseline=0.9, first_seen=T0,
                            last_seen=T0, resolved_at=None, acknowledged_at=None, acknowledged_by=None)
    ack = SimpleNamespace(actor="token:alice", at=T0, reason="on it")
    assert alert_json(alert, "fraud", ack)["ack"] == {"actor": "token:alice", "at": T0.isoformat(), "reason": "on it"}
    assert alert_json(alert, "fraud", None)["ack"] is None
    alert.acknowledged_at, alert.acknowledged_by = T0, "token:bob"
    assert alert_json(alert, "fraud", None)["ack"]["actor"] == "token:bob"
