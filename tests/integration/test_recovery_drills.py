"""Recovery that runs exactly once, with a real worker on Redis and PostgreSQL.

Drills: a delay longer than Redis' visibility timeout (the message is delivered twice, the action
runs once); a Redis restart that loses the queued ETA message (the sweeper re-sends it, it runs
once); an alert that resolves before the ETA (the action is cancelled and its task revoked); a
recovery that does not restore the KPI (it escalates); approval and expiry through the API.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from sqlalchemy import func, select

from monitor.db.schema import Alert, AuditEvent, CheckRun, RecoveryAction
from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import ROOT, free_port, session, wait_for
from tests.support.scenario import MODEL, _labelled

pytestmark = pytest.mark.integration


def seed(stack, folder: Path, hook_url: str, recovery: dict, windows: list[tuple[str, float, int]],
         precision_rule: bool = False) -> None:
    """Register the model (version 1 with its reference, version 2 serving) and ingest ``windows``
    of labelled traffic, each ``(version, recall, rows)``, all in this process (no CLI start-up)."""
    from monitor.db.migrate import upgrade
    from monitor.reference import read_table
    from monitor.registry import builtin
    from monitor.spec import load_spec_file
    from monitor.store import logs, models as store

    rng = np.random.default_rng(0)
    reference = folder / "reference.csv"
    _labelled(3000, rng, recall=0.9).to_csv(reference, index=False)
    rules = {"recall_drop_pct": 10, "precision_drop_pct": 10 if precision_rule else None, "accuracy_drop_pct": None,
             "f1_drop_pct": None, "roc_auc_drop_pct": None, "min_labelled_rows": 100}
    spec_path = folder / "models.yaml"
    spec_path.write_text(yaml.safe_dump({"models": [{
        "name": MODEL, "task": "binary_classification", "every": "1d", "window": "1h",
        "columns": {"numeric": ["amount"], "categorical": ["channel"]}, "reference": reference.name,
        "rules": rules, "alerts": [{"log": {}}, {"webhook": hook_url}], "recovery": recovery}]}))
    url = stack.database_url
    upgrade(url)
    (spec,) = load_spec_file(spec_path)
    with session(url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=read_table(spec.reference), serving=True)
        builtin.register(s, model, spec, "2", serving=True)
        _log_windows(s, model.id, windows, prefix="w", seed=1, newest=5)


def check(stack) -> None:
    stack.celery("call", "tasks.check.run_check", "--args", json.dumps([MODEL]))


def actions(url: str) -> list[RecoveryAction]:
    with session(url) as s:
        rows = list(s.scalars(select(RecoveryAction).order_by(RecoveryAction.id)))
        s.expunge_all()
        return rows


def one_action(url: str, *states: str):
    found = actions(url)
    return found[0] if len(found) == 1 and found[0].state in states else None


def finished_runs(url: str, count: int):
    with session(url) as s:
        runs = s.scalars(select(CheckRun).where(CheckRun.status.in_(("succeeded", "failed")))
                         .order_by(CheckRun.created_at)).all()
        return runs if len(runs) >= count else None


def log_of(stack, name: str) -> str:
    return (stack.logs / f"{name}.log").read_text(errors="replace")


def test_a_delay_beyond_the_visibility_timeout_is_delivered_twice_and_runs_once(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    assert stack.env["MODELWATCH_VISIBILITY_TIMEOUT"] == "5"
    with WebhookReceiver() as hook:
        seed(stack, tmp_path, hook.url, {"recall_drop": {"action": "rollback", "after": "9s"}}, [("2", 0.4, 800)])
        stack.worker()
        check(stack)
        action = wait_for(lambda: one_action(url, "succeeded", "failed"), 60, "the delayed rollback to run")
    assert (action.state, action.executions, action.result["to_version"]) == ("succeeded", 1, "1")
    assert (action.started_at - action.created_at).total_seconds() >= 9
    # Redis handed the unacked ETA message out again after 5 s; that copy lost the claim.
    worker = log_of(stack, "worker-w1")
    assert worker.count(f"tasks.recovery.execute[{action.celery_task_id}] received") >= 2, worker[-3000:]
    assert "'skipped': True" in worker


def test_a_redis_restart_that_loses_the_eta_message_still_runs_the_action_once(redis_stack, redis_server, tmp_path):
    if redis_server.get("restart") is None:
        pytest.skip("needs the private redis-server (REDIS_URL is set)")
    import redis

    stack, url = redis_stack, redis_stack.database_url
    stack.env["MODELWATCH_RECOVERY_GRACE"] = "2"
    with WebhookReceiver() as hook:
        seed(stack, tmp_path, hook.url, {"recall_drop": {"action": "rollback", "after": "10s"}}, [("2", 0.4, 800)])
        first = stack.worker("w1")
        check(stack)
        wait_for(lambda: finished_runs(url, 1), 60, "the check to finish")
        action = wait_for(lambda: (a := one_action(url, "scheduled")) and a.dispatched_at and a, 30,
                          "the rollback to be published")
        # The only copies of the ETA message are in worker 1's memory and Redis' unacked set: lose both.
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        redis_server["restart"]()
        assert redis.Redis.from_url(redis_server["url"]).dbsize() == 0
        stack.worker("w2")
        stack.beat()
        done = wait_for(lambda: one_action(url, "succeeded", "failed"), 60, "the sweeper to re-send the rollback")
    assert (done.id, done.state, done.executions) == (action.id, "succeeded", 1)
    assert f"'resent_actions': [{action.id}]" in log_of(stack, "worker-w2")


def test_an_alert_that_resolves_before_the_eta_cancels_the_action_and_revokes_its_task(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    with WebhookReceiver() as hook:
        # 30 s: under the suite's load the resolving check has come after a 12 s ETA (the rollback ran)
        seed(stack, tmp_path, hook.url, {"recall_drop": {"action": "rollback", "after": "30s"}}, [("2", 0.4, 800)])
        stack.worker()
        check(stack)
        action = wait_for(lambda: (a := one_action(url, "scheduled")) and a.dispatched_at and a, 60,
                          "the rollback to be scheduled")
        # Healthy traffic of the same version outweighs the bad half hour: the next check resolves.
        seed_more(stack, [("2", 0.93, 6000)])
        check(stack)
        cancelled = wait_for(lambda: one_action(url, "cancelled"), 60, "the resolve to cancel the rollback")
        assert cancelled.error.startswith(f"alert {action.alert_id} resolved before the action ran")
        with session(url) as s:
            assert s.get(Alert, action.alert_id).state == "resolved"
            assert [(e.actor, e.action) for e in s.scalars(select(AuditEvent))] == [("system", "cancel")]
        # The worker drops the revoked message when its ETA comes; nothing ran.
        wait_for(lambda: f"Discarding revoked task: tasks.recovery.execute[{action.celery_task_id}]"
                 in log_of(stack, "worker-w1"), 40, "the worker to discard the revoked task")
    final = actions(url)
    assert [(a.state, a.executions, a.started_at) for a in final] == [("cancelled", 0, None)]


def _log_windows(s, model_id: int, windows: list[tuple[str, float, int]], *, prefix: str, seed: int,
                 newest: float) -> None:
    """Log labelled traffic of each (version, recall, rows) over the last ~30 minutes."""
    from monitor.store import logs

    now = dt.datetime.now(dt.timezone.utc)
    for index, (version, recall, n) in enumerate(windows):
        frame = _labelled(n, np.random.default_rng(seed + index), recall=recall)
        ids = [f"{prefix}{index}-{i}" for i in range(n)]
        logs.insert_predictions(s, model_id, [
            {"request_id": rid, "ts": now - dt.timedelta(seconds=newest + 1700 * i / n), "version": version,
             "features": {"amount": float(row.amount), "channel": row.channel},
             "prediction": int(row.prediction), "score": float(row.score)}
            for i, (rid, row) in enumerate(zip(ids, frame.itertuples()))], None)
        logs.insert_labels(s, model_id, [{"request_id": rid, "label": int(label)}
                                         for rid, label in zip(ids, frame["label"])])


def seed_more(stack, windows: list[tuple[str, float, int]]) -> None:
    from monitor.store import logs, models as store

    with session(stack.database_url) as s:
        model = store.get_model(s, MODEL)
        _log_windows(s, model.id, windows, prefix="more", seed=100, newest=2)


def test_a_recovery_that_does_not_restore_the_kpi_escalates_instead_of_looping(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    with WebhookReceiver() as hook:
        # Version 1 does no better on today's traffic: rolling back to it cannot restore recall.
        seed(stack, tmp_path, hook.url, {"recall_drop": {"action": "rollback", "verify_after": "2s"}},
             [("2", 0.4, 800), ("1", 0.4, 800)])
        stack.worker()
        check(stack)
        action = wait_for(lambda: (a := one_action(url, "succeeded")) and a.verification_state not in (
            None, "due", "checking") and a, 90, "the rollback and its verification")
        assert action.verification_state == "not_recovered", action.verification
        escalated = wait_for(lambda: [a for m in hook.received for a in m["alerts"] if a["rule"] == "recovery_failed"], 30,
                             "the recovery_failed notification")
    with session(url) as s:
        verification_run = s.get(CheckRun, action.verification["run_id"])
        assert (verification_run.trigger, verification_run.version) == ("verification", "1")
        alert = s.scalar(select(Alert).where(Alert.rule == "recovery_failed"))
        assert (alert.severity, alert.state, alert.segment) == ("critical", "firing", "recall_drop")
        assert s.scalar(select(func.count()).select_from(RecoveryAction)) == 1  # no second automatic action
    assert [(m["severity"], m["state"]) for m in escalated] == [("critical", "firing")]
    assert action.verification["findings"][0]["status"] == "firing"


def test_approval_holds_the_action_until_approved_through_the_api_and_an_unapproved_one_expires(
        redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    stack.env["MODELWATCH_API_TOKEN"] = "t0ken"
    stack.env["MODELWATCH_READ_TOKEN"] = "r3ad"
    write, read = {"Authorization": "Bearer t0ken"}, {"Authorization": "Bearer r3ad"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with WebhookReceiver() as hook:
        seed(stack, tmp_path, hook.url, {
            "recall_drop": {"action": "rollback", "approval": True, "approval_timeout": "1h"},
            "precision_drop": {"action": "notify", "approval": True, "approval_timeout": "6s"}},
             [("2", 0.4, 800)], precision_rule=True)
        stack.worker()
        stack.beat()
        api = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "serve", "--port", str(port)], env=stack.env,
                               stdout=open(stack.logs / "api.log", "wb"), stderr=subprocess.STDOUT)
        try:
            check(stack)
            planned = wait_for(lambda: (found := actions(url)) and len(found) == 2 and found, 60,
                               "the check to plan both actions")
            assert [(a.state, a.dispatched_at) for a in planned] == [("pending_approval", None)] * 2
            wait_for(lambda: _get(f"{base}/healthz"), 30, "the API to answer")
            assert httpx.get(f"{base}/v1/recovery").status_code == 401
            listed = {a["kind"]: a for a in httpx.get(f"{base}/v1/recovery", params={"model": MODEL},
                                                      headers=read).json()}
            rollback, notify = listed["rollback"], listed["notify"]
            assert rollback["state"] == "pending_approval"
            assert rollback["executions"] == 0 and rollback["approval_reason"] == "the policy requires approval"

            expired = wait_for(lambda: (a := _state(base, notify["id"])) and a["state"] == "expired" and a, 30,
                               "the unapproved notify to expire")
            assert expired["executions"] == 0 and expired["error"].startswith("not approved by")
            refused = httpx.post(f"{base}/v1/recovery/{notify['id']}/approve", json={"reason": "late"}, headers=write)
            assert refused.status_code == 409 and "expired" in refused.json()["detail"]
            assert httpx.post(f"{base}/v1/recovery/{rollback['id']}/approve", json={}, headers=read).status_code == 403

            approved = httpx.post(f"{base}/v1/recovery/{rollback['id']}/approve",
                                  json={"reason": "v2 is clearly broken"}, headers=write)
            assert approved.status_code == 200 and approved.json()["state"] in ("scheduled", "running", "succeeded")
            done = wait_for(lambda: (a := _state(base, rollback["id"])) and a["state"] == "succeeded" and a, 60,
                            "the approved rollback to run")
            assert done["executions"] == 1 and done["result"]["to_version"] == "1"
            again = httpx.post(f"{base}/v1/recovery/{rollback['id']}/cancel", json={"reason": "x"}, headers=write)
            assert again.status_code == 409 and "succeeded" in again.json()["detail"]
        finally:
            api.terminate()
            api.wait(10)
    with session(url) as s:
        trail = [(e.actor, e.action, e.subject, e.reason) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert trail == [("system", "expire", f"recovery:{notify['id']}", expired["error"]),
                     ("token:admin", "approve", f"recovery:{rollback['id']}", "v2 is clearly broken"),
                     ("system", "rollback", f"recovery:{rollback['id']}", rollback["reason"])]


def _get(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _state(base: str, action_id: int) -> dict | None:
    listed = httpx.get(f"{base}/v1/recovery", headers={"Authorization": "Bearer t0ken"}).json()
    return next((a for a in listed if a["id"] == action_id), None)
