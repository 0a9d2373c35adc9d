"""Recovery's life, as the event stream tells it, on both engines: scheduled (or waiting for a
person), approved, cancelled or expired, ran, verified; and the escalation alert it may raise."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor import events
from monitor.db.schema import RecoveryAction, utcnow
from monitor.recovery import approval, schedule, verification
from monitor.store import models as store_models, runs as store_runs
from tests.conftest import session
from tests.integration.test_recovery_store import _alert, _plan, _setup, _verification_run

pytestmark = pytest.mark.integration


def _stream(url: str, after: int = 0) -> list[tuple[str, dict]]:
    with session(url) as s:
        return [(e.type, e.payload) for e in events.after(s, after)]


def _last(url: str) -> int:
    with session(url) as s:
        return events.last_id(s)


def test_each_recovery_transition_is_one_event(db_url):
    model_id, run_id = _setup(db_url, {"recall_drop": {"action": "recalibrate"},
                                       "data_drift": {"action": "notify", "approval": True},
                                       "latency_p95": {"action": "rollback", "approval": True}},
                               versions=("1", "2"))
    recall = _alert(db_url, model_id, run_id, "recall_drop", "performance_drop")
    drift = _alert(db_url, model_id, run_id, "data_drift", "data_drift")
    slow = _alert(db_url, model_id, run_id, "latency_p95", "service_slo")
    actions = {a.kind: a for a in _plan(db_url, run_id, [recall, drift, slow])}
    planned = _stream(db_url)
    assert sorted((t, p["kind"], p["state"]) for t, p in planned) == [
        ("recovery.scheduled", "notify", "pending_approval"), ("recovery.scheduled", "recalibrate", "scheduled"),
        ("recovery.scheduled", "rollback", "pending_approval")]
    _plan(db_url, run_id, [recall, drift, slow])  # planning again creates nothing, announces nothing
    assert len(_stream(db_url)) == 3

    mark = _last(db_url)
    with session(db_url) as s:
        approval.approve(s, actions["notify"].id, actor="token:alice")
    with session(db_url) as s:
        assert schedule.cancel(s, actions["notify"].id, "changed my mind")
        assert not schedule.cancel(s, actions["notify"].id, "again")  # nothing changed: no event
    with session(db_url) as s:
        s.execute(RecoveryAction.__table__.update().where(RecoveryAction.id == actions["rollback"].id)
                  .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    with session(db_url) as s:
        approval.expire_unapproved(s)
    with session(db_url) as s:
        schedule.claim(s, actions["recalibrate"].id)
        schedule.finish(s, actions["recalibrate"].id, True, {"ok": True, "summary": "recalibrated"})
    assert [(t, p["action_id"], p.get("actor") or p.get("state") or p.get("summary")) for t, p in _stream(db_url, mark)] == [
        ("recovery.approved", actions["notify"].id, "token:alice"),
        ("recovery.cancelled", actions["notify"].id, "cancelled"),
        ("recovery.cancelled", actions["rollback"].id, "expired"),
        ("recovery.ran", actions["recalibrate"].id, "recalibrated")]

    mark = _last(db_url)
    verify_run = _verification_run(db_url, model_id, actions["recalibrate"].id, "firing")
    with session(db_url) as s:
        spec = store_models.spec_of(store_models.get_model_by_id(s, model_id))
        verification.record(s, store_runs.get_run(s, verify_run), spec, "http://x/report")
    told = _stream(db_url, mark)
    assert [(t, p.get("outcome") or p.get("rule")) for t, p in told] == [
        ("recovery.verified", "not_recovered"), ("alert.fired", "recovery_failed")]
    assert told[1][1]["severity"] == "critical"
