"""``/metrics`` after real check runs: KPIs, drift scores, open alerts, pending recovery, a check
duration histogram, failures and Celery queue depth; valid for Prometheus' own parser and for
``promtool check metrics``; and every metric the Grafana dashboard queries is one it exposes."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from frontdoors.api.app import create_app
from frontdoors.api.metrics import render
from frontdoors.api.metrics_broker import broker_state
from monitor.client import Client
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.migrate import upgrade
from monitor.db.schema import Alert, CheckRun, DeliveryAttempt, KpiValue, Notification, utcnow
from monitor.reference import read_table
from monitor.registry import builtin
from monitor.spec import load_spec_file
from monitor.store import models as store
from tests.conftest import ROOT, free_port, unavailable
from tests.support.scenario import MODEL, write_model, write_window
from tests.support.stages import run_chain

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "deploy/grafana/dashboards/modelwatch.json"
RULES = ROOT / "deploy/prometheus/rules.yml"


def _populate(db_url: str, tmp_path) -> Settings:
    """Two runs of a model whose recall dropped (alert + a rollback scheduled in an hour), with
    clicks, plus one failed run; and an embedded broker holding three waiting messages."""
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url)
    spec_path = write_model(tmp_path, "http://127.0.0.1:9/unused",
                            recovery={"recall_drop": {"action": "rollback", "after": "1h"}})
    spec, = load_spec_file(spec_path)
    spec = spec.model_copy(update={"alerts": spec.alerts[:1]})
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=read_table(spec.reference), serving=True)
        builtin.register(s, model, spec, "2", serving=True)
        model_id = model.id
    predictions, labels = write_window(tmp_path, version="2", recall=0.45)
    client = Client(MODEL, settings)
    frame = pd.read_csv(predictions)
    frame["latency_ms"] = [100.0 + i % 300 for i in range(len(frame))]  # p95 ~ 285 ms
    frame["status"] = ["error" if i % 10 == 0 else "ok" for i in range(len(frame))]
    client.log_predictions(frame.to_dict("records"))
    client.log_labels(pd.read_csv(labels).to_dict("records"))
    client.log_interactions([{"request_id": r, "event": "click", "ts": t} for r, t in
                             zip(frame["request_id"][:80], frame["ts"][:80])])
    run_chain(settings, MODEL)
    run_chain(settings, MODEL)
    with session_scope(db_url) as s:
        now = utcnow()
        alert = s.scalars(select(Alert)).first()
        for channel, outcomes in (("webhook", ("retry", "failed")), ("log", ("sent",))):
            notification = Notification(alert_id=alert.id, run_id="r", channel=channel, transition="firing",
                                        dedup_key=f"n-{channel}", state=outcomes[-1], payload={})
            s.add(notification)
            s.flush()
            s.add_all([DeliveryAttempt(notification_id=notification.id, attempt=i + 1, outcome=outcome, ended_at=now)
                       for i, outcome in enumerate(outcomes)])
        s.add(CheckRun(id="f" * 32, model_id=model_id, version="2", trigger="manual", dedup_key="failed-run",
                       window_start=now - dt.timedelta(hours=1), window_end=now, status="failed", error="boom",
                       created_at=now - dt.timedelta(seconds=45), finished_at=now))
    queue = settings.broker_folder / "queue"
    queue.mkdir(parents=True)
    for name in ("1_a.checks.msg", "2_b.checks.msg", "3_c.alerts.msg", "notes.txt"):
        (queue / name).write_text("{}")
    return settings


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_expose_check_health_drift_recovery_and_queues_in_valid_exposition(db_url, tmp_path):
    settings = _populate(db_url, tmp_path)
    with session_scope(db_url) as s:
        text = render(s, settings)
    families = _families(text)

    kpis = {s.labels["kpi"]: s for s in families["modelwatch_kpi"].samples}
    assert kpis["recall"].value < 0.6 and kpis["recall"].labels["version"] == "2"
    assert kpis["click_through_rate"].value == pytest.approx(0.1)
    _service_kpis_are_in_base_units(db_url, families)
    _freshness_and_events(db_url, families)

    durations = families["modelwatch_check_duration_seconds"]
    assert durations.type == "histogram"
    buckets = [s for s in durations.samples if s.name.endswith("_bucket")]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf"
    (count,) = [s.value for s in durations.samples if s.name.endswith("_count")]
    (total,) = [s.value for s in durations.samples if s.name.endswith("_sum")]
    assert count == buckets[-1].value == 3  # two finished chains and the failed run
    assert {s.labels["model"] for s in durations.samples} == {MODEL}
    with session_scope(db_url) as s:  # the database's bucketing agrees with Python's arithmetic
        seconds = sorted((r.finished_at - r.created_at).total_seconds() for r in s.scalars(select(CheckRun)))
    assert total == pytest.approx(sum(seconds), abs=0.01) and 45 <= seconds[-1] < 46
    expected = [sum(x <= float(b.labels["le"]) for x in seconds) for b in buckets[:-1]]
    assert counts[:-1] == expected and expected[0] < expected[-1]

    failures = families["modelwatch_check_failures"]
    assert failures.type == "counter"
    assert [(s.name, s.labels, s.value) for s in failures.samples] == [
        ("modelwatch_check_failures_total", {"model": MODEL}, 1.0)]

    drift = {s.labels["feature"]: s for s in families["modelwatch_feature_drift_score"].samples}
    assert {"amount", "channel"} <= set(drift)
    assert "model_prediction" in drift and not {f for f in drift if f.startswith("__")}  # outputs by name
    assert drift["amount"].labels["method"] == "wasserstein" and drift["amount"].labels["version"] == "2"
    assert {s.labels["feature"] for s in families["modelwatch_feature_drift_detected"].samples} >= {"amount"}

    alerts = families["modelwatch_open_alerts"].samples
    assert {(s.labels["model"], s.labels["severity"]) for s in alerts} and sum(s.value for s in alerts) >= 1
    pending = {(s.labels["kind"], s.labels["state"]): s.value for s in families["modelwatch_pending_recovery_actions"].samples}
    assert pending.pop(("rollback", "scheduled")) == 1.0
    assert set(pending.values()) == {0.0} and ("retrain", "pending_approval") in pending  # zeros, not gaps

    assert [s.value for s in families["modelwatch_broker_up"].samples] == [1.0]
    depth = {s.labels["queue"]: s.value for s in families["modelwatch_queue_depth"].samples}
    assert depth == {"checks": 2.0, "alerts": 1.0, "recovery": 0.0, "ingest": 0.0, "probes": 0.0}

    _dashboard_queries_only_exposed_metrics(text)
    _rules_query_only_exposed_metrics(text)
    _promtool_check(text)  # last: without promtool (and outside CI) only this part skips


def _stored_kpis(db_url: str) -> dict[str, float]:
    with session_scope(db_url) as s:
        newest = max(s.scalars(select(KpiValue.window_end)))
        return {k.name: k.value for k in s.scalars(select(KpiValue).where(KpiValue.window_end == newest,
                                                                           KpiValue.segment == ""))}


def _service_kpis_are_in_base_units(db_url: str, families: dict) -> None:
    """Milliseconds, requests per minute and percentages never reach ``modelwatch_kpi``: each service
    measure has its own family in seconds, per second or a 0..1 ratio."""
    stored = _stored_kpis(db_url)
    assert not {k for k in {s.labels["kpi"] for s in families["modelwatch_kpi"].samples}
                if re.search(r"_(ms|rpm|pct|mb)(_|$)", k) or k in ("error_rate", "availability")}
    (p95,) = families["modelwatch_latency_p95_seconds"].samples
    assert p95.value == pytest.approx(stored["latency_p95_ms"] / 1000) and 0.25 < p95.value < 0.4
    assert families["modelwatch_latency_p50_seconds"].samples[0].value < p95.value
    (rps,) = families["modelwatch_requests_per_second"].samples
    assert rps.value == pytest.approx(stored["throughput_rpm"] / 60)
    (errors,) = families["modelwatch_error_ratio"].samples
    assert errors.value == pytest.approx(0.1, abs=0.01)


def _freshness_and_events(db_url: str, families: dict) -> None:
    with session_scope(db_url) as s:
        finished = max(r.finished_at for r in s.scalars(select(CheckRun).where(CheckRun.status == "succeeded")))
    (last,) = families["modelwatch_last_successful_check_timestamp_seconds"].samples
    assert last.labels == {"model": MODEL} and last.value == pytest.approx(finished.timestamp(), abs=1e-3)
    assert [s.value for s in families["modelwatch_check_interval_seconds"].samples] == [86400.0]
    runs = {s.labels["status"]: s.value for s in families["modelwatch_check_runs"].samples}
    assert runs == {"pending": 0.0, "running": 0.0, "succeeded": 2.0, "failed": 1.0}
    severities = {s.labels["severity"]: s.value for s in families["modelwatch_open_alerts"].samples}
    assert set(severities) == {"warning", "critical"}
    assert [(s.labels["version"], s.value) for s in families["modelwatch_serving_version_info"].samples] == [("2", 1.0)]
    (since,) = families["modelwatch_serving_since_timestamp_seconds"].samples
    assert 0 < last.value - since.value < 600
    finished_actions = {(s.labels["kind"], s.labels["state"]): s.value
                        for s in families["modelwatch_recovery_actions_finished"].samples}
    assert finished_actions[("rollback", "failed")] == 0.0 and set(finished_actions.values()) == {0.0}
    deliveries = {(s.labels["channel"], s.labels["outcome"]): s.value
                  for s in families["modelwatch_alert_delivery_attempts"].samples}
    assert deliveries == {("log", "sent"): 1.0, ("log", "retry"): 0.0, ("log", "failed"): 0.0, ("log", "lost"): 0.0,
                          ("webhook", "sent"): 0.0, ("webhook", "retry"): 1.0, ("webhook", "failed"): 1.0,
                          ("webhook", "lost"): 0.0}


def _promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        unavailable("promtool is not installed (make services installs Debian's prometheus package)")
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), \
        f"promtool check metrics:\n{result.stdout}{result.stderr}"


def _exposed(text: str) -> set[str]:
    """Sample names, plus the names of families declared without samples yet (host metrics need an agent)."""
    families = list(text_string_to_metric_families(text))
    return {f.name for f in families} | {s.name for f in families for s in f.samples}


def _metric_names(query: str) -> set[str]:
    return set(re.findall(r"\bmodelwatch_[a-zA-Z0-9_]+", query))


#: the Grafana unit a metric's name implies (Prometheus base units); other names carry no unit
UNIT_OF_SUFFIX = {"_seconds": "s", "_seconds_bucket": "s", "_ratio": "percentunit", "_bytes": "bytes",
                  "_per_second": "reqps"}


def _dashboard_queries_only_exposed_metrics(text: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    annotations = {a["name"].lower(): a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a}
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]] + list(annotations.values())
    queries += [v["query"]["query"] for v in dashboard["templating"]["list"]]
    queried = {name for q in queries for name in _metric_names(q)}
    assert queried and queried <= _exposed(text), f"the dashboard queries metrics /metrics does not expose: {queried - _exposed(text)}"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("alerts", "kpi", "drift", "duration", "failures", "queue", "recovery", "latency", "throughput",
                  "last successful check", "deliveries"):
        assert topic in titles, f"the dashboard has no panel about {topic}"
    assert {"deploys", "rollbacks", "retrains"} <= set(annotations)
    for panel in dashboard["panels"]:  # one axis, one unit: never seconds and ratios on the same scale
        units = {unit for t in panel["targets"] for name in _metric_names(t["expr"])
                 for suffix, unit in UNIT_OF_SUFFIX.items() if name.endswith(suffix)}
        assert len(units) <= 1 and units <= {panel["fieldConfig"]["defaults"].get("unit")}, \
            f"panel {panel['title']!r} shows {units} with unit {panel['fieldConfig']['defaults'].get('unit')}"


def _rules_query_only_exposed_metrics(text: str) -> None:
    """A renamed metric must not leave an alert of deploy/prometheus/rules.yml silently empty."""
    rules = yaml.safe_load(RULES.read_text())
    queried = {name for g in rules["groups"] for r in g["rules"] for name in _metric_names(r["expr"])}
    exposed = _exposed(text)
    assert queried and queried <= exposed, f"rules.yml queries metrics /metrics does not expose: {queried - exposed}"


def test_redis_queue_depth_counts_priority_lists_too(redis_url, tmp_path):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.rpush("checks", "m1", "m2", "m3")
    client.rpush("checks\x06\x163", "m4")
    client.rpush("recovery", "m5")
    state = broker_state(Settings(data_dir=tmp_path, broker_url=redis_url))
    assert state.up and state.depths == {"checks": 4, "alerts": 0, "recovery": 1, "ingest": 0, "probes": 0}


def test_an_unreachable_broker_is_a_zero_gauge_not_an_error(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'state.db'}",
                        broker_url=f"redis://127.0.0.1:{free_port()}/0")
    upgrade(settings.effective_database_url)
    with TestClient(create_app(settings)) as api:
        answer = api.get("/metrics")
    assert answer.status_code == 200
    families = _families(answer.text)
    assert [s.value for s in families["modelwatch_broker_up"].samples] == [0.0]
    assert families["modelwatch_queue_depth"].samples == []
