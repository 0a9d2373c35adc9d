"""The JSON reads the live dashboard is built on: the fleet (fast at 1,000 models), alerts grouped
by cause, KPI time series with thresholds and marks, drift over time, and annotations."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert

from frontdoors.api.app import create_app
from monitor.config import Settings
from monitor.db.engine import get_engine, session_scope
from monitor.db.schema import (Alert, AuditEvent, CheckRun, Finding, KpiValue, Model, ModelVersion, RecoveryAction,
                               Report)

READ = {"Authorization": "Bearer r"}
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
SPEC = {"name": "m", "task": "binary_classification", "every": "1h", "window": "1h"}


@pytest.fixture(autouse=True)
def _now():
    """Times are relative to when the test runs, not to when the module was collected: in a full
    run a test can start 30+ minutes after collection, which put "an hour ago" outside ``last=90m``."""
    global NOW
    NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture
def settings(tmp_path, migrate):
    settings = Settings(data_dir=tmp_path, api_token="w", read_token="r")
    migrate(settings.effective_database_url)
    return settings


def _models(session, count: int) -> list[int]:
    session.execute(insert(Model), [{"name": f"model-{i:04d}", "task": "binary_classification",
                                     "spec": dict(SPEC, name=f"model-{i:04d}"), "every_seconds": 3600.0,
                                     "window_seconds": 3600.0, "status": "active", "created_at": NOW,
                                     "updated_at": NOW} for i in range(count)])
    return sorted(session.scalars(Model.__table__.select().with_only_columns(Model.id)))


def _run(session, model_id: int, run_id: str, hours_ago: float, status: str = "succeeded") -> CheckRun:
    end = NOW - dt.timedelta(hours=hours_ago)
    run = CheckRun(id=run_id, model_id=model_id, version="1", trigger="schedule", window_start=end - dt.timedelta(hours=1),
                   window_end=end, dedup_key=run_id, status=status, created_at=end, finished_at=end)
    session.add(run)
    session.flush()
    return run


def _alert(session, model_id: int, rule: str, kind: str, severity: str, state: str = "firing") -> None:
    session.add(Alert(model_id=model_id, rule=rule, kind=kind, segment="", state=state, severity=severity,
                      message=rule, clean_checks=0, first_run_id="r", last_run_id="r", last_window_end=NOW,
                      first_seen=NOW - dt.timedelta(hours=1), last_seen=NOW))


def test_fleet_of_a_thousand_models_takes_a_fixed_number_of_queries(settings):
    url = settings.effective_database_url
    with session_scope(url) as session:
        ids = _models(session, 1000)
        for i, model_id in enumerate(ids[:300]):
            _run(session, model_id, f"old{i}", hours_ago=2, status="failed")
            _run(session, model_id, f"new{i}", hours_ago=1, status="succeeded" if i % 3 else "failed")
            session.add(KpiValue(run_id=f"new{i}", model_id=model_id, version="1", name="recall", segment="",
                                 value=0.5 + i / 1000, baseline=0.9, window_end=NOW))
        _alert(session, ids[1], "recall_drop", "performance_drop", "critical")
        _alert(session, ids[2], "data_drift", "data_drift", "warning", state="acknowledged")
        session.add(ModelVersion(model_id=ids[1], version="7", serving=True, status="serving"))
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(get_engine(url), "before_cursor_execute", listener)
    try:
        started = time.perf_counter()
        body = TestClient(create_app(settings)).get("/v1/fleet", headers=READ).json()
        elapsed = time.perf_counter() - started
    finally:
        event.remove(get_engine(url), "before_cursor_execute", listener)
    fleet_queries = [s for s in statements if "models" in s or "check_runs" in s or "alerts" in s]
    assert len(fleet_queries) <= 6, fleet_queries
    assert elapsed < 5, f"/v1/fleet took {elapsed:.2f}s for 1,000 models"
    models = {m["name"]: m for m in body["models"]}
    assert len(models) == 1000
    assert body["counts"] == {"critical": 1, "alerting": 1, "failed": 100, "ok": 198, "unchecked": 700}
    assert body["models"][0]["name"] == "model-0001" and body["models"][0]["health"] == "critical"
    assert models["model-0001"]["serving_version"] == "7" and models["model-0001"]["open_alerts"] == {"critical": 1}
    assert models["model-0004"]["last_run_id"] == "new4" and models["model-0004"]["kpis"] == {"recall": 0.504}
    assert models["model-0003"]["health"] == "failed"  # its newest run failed; the older one counts no more


def test_open_alerts_group_by_cause_or_by_rule(settings):
    with session_scope(settings.effective_database_url) as session:
        a, b = _models(session, 2)
        _alert(session, a, "recall_drop", "performance_drop", "warning")
        _alert(session, a, "precision_drop", "performance_drop", "critical", state="acknowledged")
        _alert(session, b, "recall_drop", "performance_drop", "warning")
        _alert(session, b, "data_drift", "data_drift", "warning", state="resolved")
    client = TestClient(create_app(settings))
    by_cause = client.get("/v1/fleet/alerts", headers=READ).json()
    assert [(g["key"], g["count"], g["severity"], g["acknowledged"]) for g in by_cause] == [
        ("model-0000/performance_drop", 2, "critical", 1), ("model-0001/performance_drop", 1, "warning", 0)]
    by_rule = client.get("/v1/fleet/alerts?by=rule", headers=READ).json()
    assert [(g["rule"], g["models"]) for g in by_rule] == [
        ("precision_drop", ["model-0000"]), ("recall_drop", ["model-0000", "model-0001"])]
    assert client.get("/v1/fleet/alerts?by=colour", headers=READ).status_code == 422


@pytest.fixture
def history(settings):
    """One model with three hourly runs: recall falls, an anomaly fires, a feature drifts, a rollback."""
    with session_scope(settings.effective_database_url) as session:
        (model_id,) = _models(session, 1)
        for i, (recall, hours_ago) in enumerate([(0.9, 3), (0.88, 2), (0.6, 1)]):
            run = _run(session, model_id, f"run{i}", hours_ago)
            session.add(KpiValue(run_id=run.id, model_id=model_id, version="1", name="recall", segment="",
                                 value=recall, baseline=0.9, window_end=run.window_end))
            session.add(KpiValue(run_id=run.id, model_id=model_id, version="1", name="latency_p95_ms", segment="",
                                 value=100.0 + i, baseline=None, window_end=run.window_end))
            session.add(Finding(run_id=run.id, model_id=model_id, rule="data_drift", kind="data_drift",
                                segment="feature=amount", status="firing" if i == 2 else "ok", severity="warning",
                                metric="psi", value=0.05 + i / 10, threshold=0.2, message="",
                                details={"p_value_adjusted": 0.5 - i / 5}))
        session.add(Finding(run_id="run2", model_id=model_id, rule="kpi_anomaly", kind="kpi_anomaly",
                            segment="kpi=recall", status="firing", severity="warning", metric="recall",
                            value=0.6, message="recall broke its trend"))
        session.add(Report(run_id="run2", model_id=model_id, summary={"thresholds": {"recall": 0.81}}, html=""))
        session.add(ModelVersion(model_id=model_id, version="2", created_at=NOW - dt.timedelta(minutes=90)))
        session.add(RecoveryAction(model_id=model_id, kind="rollback", state="succeeded", run_id="run2",
                                   dedup_key="k", reason="r", eta=NOW, finished_at=NOW - dt.timedelta(minutes=30),
                                   result={"ok": True, "summary": "rolled back from version 2 to 1",
                                           "to_version": "1"}))
        session.add(AuditEvent(at=NOW - dt.timedelta(minutes=20), actor="cli:ana", action="promote",
                               model_id=model_id, subject="version:2", reason="fixed", details={"version": "2"}))
    return TestClient(create_app(settings))


def test_timeseries_has_points_units_threshold_and_marks(history):
    body = history.get("/v1/models/model-0000/timeseries?last=6h", headers=READ).json()
    kpis = {k["name"]: k for k in body["kpis"]}
    assert [p["value"] for p in kpis["recall"]["points"]] == [0.9, 0.88, 0.6]
    assert (kpis["recall"]["unit"], kpis["recall"]["threshold"]) == ("ratio", 0.81)
    assert [(m["kind"], m["run_id"]) for m in kpis["recall"]["marks"]] == [("kpi_anomaly", "run2")]
    assert kpis["latency_p95_ms"]["unit"] == "ms"
    narrow = history.get("/v1/models/model-0000/timeseries?last=90m&kpi=recall", headers=READ).json()
    assert [k["name"] for k in narrow["kpis"]] == ["recall"] and len(narrow["kpis"][0]["points"]) == 1


def test_a_bad_range_is_a_400_naming_the_parameter(history):
    assert "last='soon'" in history.get("/v1/models/model-0000/timeseries?last=soon", headers=READ).json()["detail"]
    since_after = history.get("/v1/models/model-0000/drift?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z",
                              headers=READ)
    assert since_after.status_code == 400 and "is after until" in since_after.json()["detail"]
    assert history.get("/v1/models/nosuch/annotations", headers=READ).status_code == 404


def test_drift_over_time_per_feature(history):
    (amount,) = history.get("/v1/models/model-0000/drift?last=1d", headers=READ).json()
    assert amount["column"] == "amount" and not amount["output"]
    assert [(p["status"], p["method"]) for p in amount["points"]] == [("ok", "psi"), ("ok", "psi"), ("firing", "psi")]
    assert [p["p_value"] for p in amount["points"]] == pytest.approx([0.5, 0.3, 0.1])


def test_annotations_show_deploys_recoveries_and_decisions(history):
    found = history.get("/v1/models/model-0000/annotations?last=1d", headers=READ).json()
    assert [(a["kind"], a["version"], a["source"]) for a in found] == [
        ("deploy", "2", "version"), ("rollback", "1", "recovery"), ("promote", "2", "audit")]
