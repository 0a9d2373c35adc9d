"""Alert drills with real workers on Redis and PostgreSQL: a flapping metric raises one alert, a
silence holds notifications until it expires, a hanging Slack endpoint does not delay the
webhook, and workers SIGKILLed in the middle of a delivery leave exactly one notification."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from sqlalchemy import select

from monitor.alerts import silences
from monitor.db.schema import Alert, CheckRun, DeliveryAttempt, Notification
from frontdoors.demo.receiver import WebhookReceiver
from monitor.registry import on_model_update
from tests.conftest import session, wait_for
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration


def write_spec(tmp_path, alerts: list, alerting: dict | None = None):
    path = write_model(tmp_path, "http://127.0.0.1:9/unused", recovery={})
    document = yaml.safe_load(path.read_text())
    document["models"][0]["alerts"] = alerts
    if alerting:
        document["models"][0]["alerting"] = alerting
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def serve_window(stack, tmp_path, version: str, recall: float) -> None:
    """Version ``version`` serves (inheriting the reference) and logs a labelled window."""
    from monitor.ingest import read_batches
    from monitor.store import logs, models as store

    if version != "1":
        on_model_update(MODEL, version, settings=stack.settings())
    predictions, labels = write_window(tmp_path, version=version, recall=recall, n=400, seed=int(version),
                                       prefix=f"v{version}")
    with session(stack.database_url) as s:
        model = store.get_model(s, MODEL)
        spec, model_id = store.spec_of(model), model.id
    for path, kind in ((predictions, "predictions"), (labels, "labels")):
        for batch in read_batches(path, kind, spec):
            with session(stack.database_url) as s:
                insert = logs.insert_predictions if kind == "predictions" else logs.insert_labels
                args = (s, model_id, batch.rows, version) if kind == "predictions" else (s, model_id, batch.rows)
                assert insert(*args).accepted == len(batch.rows)


def enqueue(stack) -> None:
    """Force a check as ``celery call`` would: a message on the ``checks`` queue."""
    from celery import Celery

    client = Celery("drill", broker=stack.env["MODELWATCH_BROKER_URL"])
    try:
        client.send_task("tasks.check.run_check", args=[MODEL], kwargs={"rerun": True}, queue="checks")
    finally:
        client.close()


def check(stack) -> CheckRun:
    """Force a check and wait for it to finish."""
    url = stack.database_url
    before = len(_finished_runs(url))
    enqueue(stack)
    runs = wait_for(lambda: (lambda r: r if len(r) > before else None)(_finished_runs(url)), 60, "the check to finish")
    assert runs[-1].status == "succeeded", runs[-1].error
    return runs[-1]


def _finished_runs(url: str) -> list[CheckRun]:
    with session(url) as s:
        return list(s.scalars(select(CheckRun).where(CheckRun.status.in_(("succeeded", "failed")))
                              .order_by(CheckRun.finished_at)))


def open_alerts(url: str) -> list[tuple[str, str]]:
    with session(url) as s:
        return [(a.rule, a.state) for a in s.scalars(select(Alert).where(Alert.state != "resolved"))]


def carried(message: dict) -> list[tuple[str, str]]:
    return [(a["rule"], a["transition"]) for a in message["alerts"]]


def notifications(url: str, channel: str = "%") -> list[Notification]:
    with session(url) as s:
        return list(s.scalars(select(Notification).where(Notification.channel.like(channel)).order_by(Notification.id)))


def all_settled(url: str) -> bool:
    return all(n.state in ("sent", "failed") for n in notifications(url))


def test_flapping_metric_raises_one_alert_not_one_per_flip(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_spec(tmp_path, [{"webhook": hook.url}],
                                                {"rules": {"recall_drop": {"resolve_after": 3}}})))
        stack.worker()
        for step in range(1, 5):  # recall hovers across its threshold: bad, good, bad, good
            serve_window(stack, tmp_path, str(step), recall=0.45 if step % 2 else 0.9)
            check(stack)
        wait_for(lambda: all_settled(url), 30, "every notification to be delivered")
        with session(url) as s:
            recall_alerts = [(a.state, a.clean_checks) for a in s.scalars(select(Alert).where(Alert.rule == "recall_drop"))]
        assert recall_alerts == [("firing", 1)]
        told = [t for m in hook.received for rule, t in carried(m) if rule == "recall_drop"]
        assert told == ["firing"]


def test_silence_holds_notifications_and_its_expiry_restores_them(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_spec(tmp_path, [{"webhook": hook.url}])))
        with session(url) as s:
            silence_id = silences.create(s, actor="cli:test", comment="maintenance", model=MODEL, duration="1h").id
        stack.worker()
        serve_window(stack, tmp_path, "1", recall=0.45)
        check(stack)
        assert ("recall_drop", "firing") in open_alerts(url)
        assert notifications(url) == [] and hook.received == []  # the alert stage ran and held them

        with session(url) as s:
            silences.expire(s, silence_id, actor="cli:test", reason="maintenance over")
        check(stack)  # the alert is still firing: now it is told, once
        wait_for(lambda: hook.received, 30, "the notification after the silence ended")
        wait_for(lambda: all_settled(url), 30, "every notification to be delivered")
        assert [("recall_drop", "firing")] == [c for m in hook.received for c in carried(m) if c[0] == "recall_drop"]


class HangingSlack:
    """A Slack endpoint that hangs on its first request, then answers 500 to every request."""

    def __init__(self, hang: float):
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests += 1
                if owner.requests == 1:
                    time.sleep(hang)
                self.send_response(500)
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/SLACKSECRET"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_failing_slack_endpoint_does_not_delay_the_webhook(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    stack.env["MODELWATCH_ALERT_RETRY_BASE"] = "0.2"
    slack = HangingSlack(hang=6)
    try:
        with WebhookReceiver() as hook:
            stack.cli("apply", "-f", str(write_spec(tmp_path, [{"slack": {"url": slack.url, "timeout": 20}},
                                                               {"webhook": hook.url}])))
            serve_window(stack, tmp_path, "1", recall=0.45)
            stack.worker()
            enqueue(stack)
            wait_for(lambda: hook.received, 30, "the webhook notification")
            # (the Slack claim commits before its request reaches the server: wait for the request)
            wait_for(lambda: slack.requests >= 1, 5, "Slack's first attempt to arrive")
            [slack_note] = notifications(url, "0:slack")
            # the webhook got its notification while Slack's first attempt was still hanging
            assert (slack_note.state, slack_note.attempts) == ("sending", 1) and slack.requests == 1

            failed = wait_for(lambda: [n for n in notifications(url, "0:slack") if n.state == "failed"], 60,
                              "the Slack notification to end failed")
            assert failed[0].attempts == 5 and notifications(url, "1:webhook")[0].state == "sent"
            listed = json.loads(stack.cli("alerts", "--json").stdout)["alerts"]
            slack_rows = [n for a in listed for n in a["notifications"] if n["channel"] == "0:slack"]
            assert slack_rows and all(n["state"] == "failed" for n in slack_rows)
            attempts = slack_rows[0]["delivery_attempts"]
            assert [(a["attempt"], a["outcome"], a["http_status"]) for a in attempts] == (
                [(n, "retry", 500) for n in range(1, 5)] + [(5, "failed", 500)])
            assert "SLACKSECRET" not in stack.cli("alerts").stdout + json.dumps(listed)
            assert "SLACKSECRET" not in "".join(p.read_text(errors="replace") for p in stack.logs.glob("*.log"))
    finally:
        slack.close()


def _kill(service) -> None:
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(10)


def test_workers_killed_mid_delivery_leave_exactly_one_notification(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    stack.env["MODELWATCH_ALERT_LEASE"] = "3"
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_spec(tmp_path, [{"webhook": hook.url}])))
        serve_window(stack, tmp_path, "1", recall=0.45)

        # Worker 1 claims the notification and is killed before it sends anything.
        first = stack.worker("w1", {"MODELWATCH_FAILPOINTS": "deliver.claimed=sleep(60)"}, concurrency=1)
        enqueue(stack)
        wait_for(lambda: [n for n in notifications(url) if n.state == "sending"], 60, "worker 1 to claim it")
        _kill(first)

        # Worker 2 gets the message back, claims the expired lease, sends, records, and is killed
        # before it acknowledges the message.
        second = stack.worker("w2", {"MODELWATCH_FAILPOINTS": "deliver.after=sleep(60)"}, concurrency=1)
        wait_for(lambda: hook.received and notifications(url)[0].state == "sent", 60, "worker 2 to deliver it")
        _kill(second)

        # Worker 3 gets the message once more and finds it delivered.
        stack.worker("w3")
        wait_for(lambda: "'skipped': True" in (stack.logs / "worker-w3.log").read_text(errors="replace"), 60,
                 "worker 3 to receive the delivered notification again and skip it")
        [note] = notifications(url)
        assert (note.state, note.attempts) == ("sent", 2)
        with session(url) as s:
            attempts = s.execute(select(DeliveryAttempt.attempt, DeliveryAttempt.outcome)
                                 .order_by(DeliveryAttempt.attempt)).all()
        assert [tuple(a) for a in attempts] == [(1, "lost"), (2, "sent")]
        assert len(hook.received) == 1  # the receiver heard it exactly once
        assert {h["Idempotency-Key"] for h in hook.headers} == {note.dedup_key}
