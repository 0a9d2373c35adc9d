"""The dashboard's set-wise reads and the event outbox on both databases (SQLite and PostgreSQL):
the correlated newest-run query behind the fleet, and event ids as the stream's cursor."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor import events
from monitor.db.schema import CheckRun, KpiValue, Model
from monitor.store import fleet
from tests.conftest import session

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.timezone.utc)


def test_fleet_takes_each_models_newest_run_on_both_databases(db_url):
    with session(db_url) as s:
        for name in ("a", "b"):
            s.add(Model(name=name, task="regression", spec={}, every_seconds=60.0, window_seconds=60.0))
        s.flush()
        a = s.query(Model).filter_by(name="a").one()
        for i, status in enumerate(("succeeded", "failed")):
            end = NOW - dt.timedelta(hours=2 - i)
            s.add(CheckRun(id=f"a{i}", model_id=a.id, version="1", trigger="schedule", window_start=end,
                           window_end=end, dedup_key=f"a{i}", status=status, created_at=end))
            s.add(KpiValue(run_id=f"a{i}", model_id=a.id, version="1", name="mae", segment="", value=float(i),
                           baseline=None, window_end=end))
    with session(db_url) as s:
        rows = {r.name: r for r in fleet.fleet(s)}
    assert (rows["a"].health, rows["a"].last_run_id, rows["a"].kpis) == ("failed", "a1", {"mae": 1.0})
    assert rows["b"].health == "unchecked" and rows["b"].last_run_id is None


def test_event_ids_increase_and_resume_on_both_databases(db_url):
    for i in range(3):
        with session(db_url) as s:
            events.record(s, "run.finished", "a", run_id=f"r{i}", version="1", status="succeeded", trigger="manual")
    with pytest.raises(RuntimeError):
        with session(db_url) as s:
            events.record(s, "run.finished", "a", run_id="lost", version="1", status="failed", trigger="manual")
            raise RuntimeError("rolled back")
    with session(db_url) as s:
        events.record(s, "alert.fired", "b", alert_id=1, rule="r", kind="k", severity="warning", segment="")
    with session(db_url) as s:
        everything = events.after(s, 0)
        first = everything[0].id
        assert [e.payload.get("run_id") for e in events.after(s, first)] == ["r1", "r2", None]
        assert [e.type for e in events.after(s, 0, model="b")] == ["alert.fired"]
        assert events.last_id(s) == everything[-1].id
    assert [e.id for e in everything] == sorted(e.id for e in everything)
