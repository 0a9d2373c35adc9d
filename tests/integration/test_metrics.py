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
from monitor.db.schema import CheckRun, utcnow
from monitor.reference import read_table
from monitor.registry import builtin
from monitor.spec import load_spec_file
from monitor.store import models as store
from tests.conftest import ROOT, free_port, unavailable
from tests.support.scenario import MODEL, write_model, write_window
from tests.support.stages import run_chain

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "deploy/grafana/dashboards/modelwatch.json"


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
    client.log_predictions(frame.to_dict("records"))
    client.log_labels(pd.read_csv(labels).to_dict("records"))
    client.log_interactions([{"request_id": r, "event": "click", "ts": t} for r, t in
                             zip(frame["request_id"][:80], frame["ts"][:80])])
    run_chain(settings, MODEL)
    run_chain(settings, MODEL)
    with session_scope(db_url) as s:
        now = utcnow()
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
    pending = [(s.labels["kind"], s.labels["state"], s.value) for s in families["modelwatch_pending_recovery_actions"].samples]
    assert pending == [("rollback", "scheduled", 1.0)]

    assert [s.value for s in families["modelwatch_broker_up"].samples] == [1.0]
    depth = {s.labels["queue"]: s.value for s in families["modelwatch_queue_depth"].samples}
    assert depth == {"checks": 2.0, "alerts": 1.0, "recovery": 0.0, "ingest": 0.0, "probes": 0.0}

    _dashboard_queries_only_exposed_metrics(text)
    _promtool_check(text)  # last: without promtool (and outside CI) only this part skips


def _promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        unavailable("promtool is not installed (make services installs Debian's prometheus package)")
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), \
        f"promtool check metrics:\n{result.stdout}{result.stderr}"


def _dashboard_queries_only_exposed_metrics(text: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"]["query"] for v in dashboard["templating"]["list"]]
    queried = {name for q in queries for name in re.findall(r"\bmodelwatch_[a-zA-Z0-9_]+", q)}
    exposed = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    assert queried and queried <= exposed, f"the dashboard queries metrics /metrics does not expose: {queried - exposed}"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("alerts", "kpi", "drift", "duration", "failures", "queue", "recovery"):
        assert topic in titles, f"the dashboard has no panel about {topic}"


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
