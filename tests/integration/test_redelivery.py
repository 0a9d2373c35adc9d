"""Failure drills on Redis: a worker SIGKILLed in the middle of a chain, and again in the middle of
a recovery action. A new worker finishes the chain; nothing is notified or executed twice."""

from __future__ import annotations

import json
import os
import signal

import pytest
from sqlalchemy import select

from monitor.db.schema import CheckRun, Notification, RecoveryAction
from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import session, wait_for
from tests.support.scenario import MODEL, seed_dropped_version

pytestmark = pytest.mark.integration


def _kill(service) -> None:
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(10)


def test_sigkilled_workers_leave_no_duplicate_notification_or_recovery(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    with WebhookReceiver() as hook:
        seed_dropped_version(stack, tmp_path, hook.url)

        # Worker 1 stalls after the alert stage committed: it is killed holding the unacked message.
        first = stack.worker("w1", {"MODELWATCH_FAILPOINTS": "alert.after=sleep(60)"})
        stack.celery("call", "tasks.check.run_check", "--args", json.dumps([MODEL]))
        wait_for(lambda: _all_sent(url), 60, "every firing notification to be delivered")
        _kill(first)
        with session(url) as s:
            assert s.scalar(select(CheckRun.status)) == "running"

        # Worker 2 gets the run's message back after the visibility timeout and resumes at the
        # alert stage (committed, its hand-offs maybe not sent); it stalls after the rollback ran
        # and is killed too, holding the recovery message.
        second = stack.worker("w2", {"MODELWATCH_FAILPOINTS": "recovery.after=sleep(60)"})
        wait_for(lambda: _action_state(url) == "succeeded", 90, "the rollback to run")
        _kill(second)

        # Worker 3 is healthy: it sees the redelivered recovery message and the rest of the chain.
        stack.worker("w3")
        run = wait_for(lambda: _finished(url), 90, "the chain to finish")
        assert run.status == "succeeded", run.error
        second_log = (stack.logs / "worker-w2.log").read_text(errors="replace")
        assert f"run {run.id}: message redelivered, resuming at alert" in second_log, (
            "the run's message was not redelivered to worker 2, or did not resume at the alert stage")
        assert run.stages["alert"]["attempts"] == 1  # the redelivered copy reused the stored output
        wait_for(lambda: _redelivered_recovery_seen(stack), 60, "worker 3 to receive the recovery message again")

        with session(url) as s:
            action = s.scalar(select(RecoveryAction))
            assert (action.kind, action.state, action.executions) == ("rollback", "succeeded", 1)
            webhook = s.scalars(select(Notification).where(Notification.channel.like("%webhook"))).all()
            assert "recall_drop" in {a["rule"] for n in webhook for a in n.payload["alerts"]}
            assert all((n.transition, n.state, n.attempts) == ("firing", "sent", 1) for n in webhook)
        assert len(hook.received) == len(webhook)  # each notification reached the webhook exactly once


def _all_sent(url: str) -> bool:
    with session(url) as s:
        states = s.scalars(select(Notification.state)).all()
        return bool(states) and all(state == "sent" for state in states)


def _action_state(url: str):
    with session(url) as s:
        return s.scalar(select(RecoveryAction.state))


def _finished(url: str):
    with session(url) as s:
        run = s.scalar(select(CheckRun))
        return run if run.status in ("succeeded", "failed") else None


def _redelivered_recovery_seen(stack) -> bool:
    log = (stack.logs / "worker-w3.log").read_text(errors="replace")
    return "tasks.recovery.execute" in log and "'skipped': True" in log
