"""The check chain end to end, with real processes: a recall drop fires an alert, the webhook
gets one signed notification, a rollback runs once, a report is written; healthy traffic then
resolves the alert. Runs on Redis + PostgreSQL and on the embedded default."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from monitor.db.schema import Alert, AuditEvent, CheckRun, Notification, RecoveryAction, Report
from frontdoors.demo.receiver import WebhookReceiver
from monitor.registry import on_model_update
from monitor.store import models as store
from tests.conftest import session, wait_for
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration


def finished_run(url: str, trigger: str | None = None, after: int = 0):
    with session(url) as s:
        query = select(CheckRun).where(CheckRun.status.in_(("succeeded", "failed"))).order_by(CheckRun.created_at)
        runs = [r for r in s.scalars(query) if trigger is None or r.trigger == trigger]
        return runs[after] if len(runs) > after else None


@pytest.mark.parametrize("backend", ["redis_stack", "embedded_stack"])
def test_recall_drop_fires_alert_notifies_once_rolls_back_once_and_resolves(backend, request, tmp_path):
    stack = request.getfixturevalue(backend)
    url = stack.database_url
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_model(tmp_path, hook.url)))
        on_model_update(MODEL, "2", settings=stack.settings())
        predictions, labels = write_window(tmp_path, version="2", recall=0.45)
        counts = json.loads(stack.cli("ingest", "predictions", str(predictions), "--model", MODEL, "--json").stdout)
        assert (counts["accepted"], counts["duplicates"], counts["quarantined"]) == (800, 0, 0)
        stack.cli("ingest", "labels", str(labels), "--model", MODEL)
        stack.worker()
        stack.beat()

        stack.celery("call", "tasks.check.run_check", "--args", json.dumps([MODEL]))
        run = wait_for(lambda: finished_run(url, "manual"), 60, "the forced check to finish")
        assert run.status == "succeeded", run.error
        assert run.version == "2"
        assert set(run.stages) == {"collect", "evaluate", "detect", "alert", "schedule_recovery", "report"}
        assert all(stage["state"] == "succeeded" for stage in run.stages.values())

        with session(url) as s:
            alerts = s.scalars(select(Alert)).all()
            assert [(a.rule, a.state) for a in alerts if a.kind == "performance_drop"] == [("recall_drop", "firing")]
            assert s.scalar(select(Report).where(Report.run_id == run.id)) is not None
        wait_for(lambda: hook.received, 30, "the webhook notification")
        action = wait_for(lambda: _action(url, "succeeded"), 30, "the rollback to run")
        assert action.kind == "rollback" and action.executions == 1
        assert action.result["to_version"] == "1"
        with session(url) as s:
            assert store.serving_version(s, store.get_model(s, MODEL).id).version == "1"
            trail = s.scalars(select(AuditEvent)).all()
            assert [(e.actor, e.action, e.subject) for e in trail] == [("system", "rollback", f"recovery:{action.id}")]

        # one grouped notification for the run, carrying every alert it fired
        firing = [m for m in hook.received if ("recall_drop", "firing") in _carried(m)]
        assert len(firing) == 1 and firing[0]["version"] == "2" and firing[0]["status"] == "firing"
        body = json.dumps(firing[0], default=str, sort_keys=True).encode()
        headers = hook.headers[hook.received.index(firing[0])]
        material = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(b"s3cret", material, hashlib.sha256).digest()).decode()
        assert headers["webhook-signature"] == expected

        # Version 1 serves healthy traffic again; a forced check resolves the alert.
        predictions, labels = write_window(tmp_path, version="1", recall=0.9, seed=2, prefix="after")
        stack.cli("ingest", "predictions", str(predictions), "--model", MODEL)
        stack.cli("ingest", "labels", str(labels), "--model", MODEL)
        result = stack.cli("check", MODEL, "--wait", "--json", "--timeout", "60")
        summary = json.loads(result.stdout)
        assert {"run_id", "model", "status", "window", "kpis", "findings", "alerts", "recovery_actions",
                "report"} <= set(summary)
        assert summary["status"] == "succeeded" and summary["version"] == "1"
        assert summary["kpis"]["recall"]["value"] > 0.8
        assert [a["state"] for a in summary["alerts"] if a["rule"] == "recall_drop"] == ["resolved"]
        wait_for(lambda: any(("recall_drop", "resolved") in _carried(m) for m in hook.received), 30,
                 "the resolve notification")

        with session(url) as s:
            assert s.scalar(select(RecoveryAction.executions)) == 1
            sent = s.scalars(select(Notification).where(Notification.channel.like("%webhook"))).all()
            recall = [t for n in sent for rule, t in _carried(n.payload) if rule == "recall_drop"]
            assert sorted(recall) == ["firing", "resolved"]
            assert all(n.state == "sent" and n.attempts == 1 for n in sent)
        assert len(hook.received) == len(sent)  # every notification reached the webhook exactly once
        assert sorted(t for m in hook.received for rule, t in _carried(m) if rule == "recall_drop") == [
            "firing", "resolved"]

        report = stack.cli("report", MODEL).stdout.strip()
        html = open(report).read()
        assert "recall" in html and "<svg" in html


def _carried(message: dict) -> list[tuple[str, str]]:
    """The (rule, transition) pairs a grouped notification carries."""
    return [(a["rule"], a["transition"]) for a in message["alerts"]]


def _action(url: str, state: str):
    with session(url) as s:
        return s.scalar(select(RecoveryAction).where(RecoveryAction.state == state))
