"""Redis that fails over (issue 12): a worker and beat on a ``sentinel://`` broker URL keep every
check going when the Redis primary is killed mid-chain and the sentinels promote the replica.

One primary, one replica, three real sentinels (tests/support/sentinel.py). The chain is held
after its alert stage committed (failpoint ``alert.after=hold(FILE)``: held until the test deletes
the file, so the kill cannot come too late), the primary is SIGKILLed, and the worker must find
the promoted replica through the sentinels, get its unacked message back (the visibility timeout,
30 s here, after its delivery) and finish: every run reaches a report, each notification reaches
the receiver exactly once and the rollback runs once. Redis replicates asynchronously, so a
failover may lose the last messages the dead primary took (beat's, in the instant before the
kill): the sweeper re-drives a run whose message was lost, here after 60 s of no progress instead
of the default 120 (longer than the forced run waits for its message to come back, so its own
resumption is the redelivery, not a re-drive). modelwatch's own Redis client (the event notices, the API's queue depth)
follows the new primary too.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from frontdoors.api.metrics_broker import broker_state
from frontdoors.demo.receiver import WebhookReceiver
from monitor import redis_clients
from monitor.db.schema import CheckRun, Notification, RecoveryAction, Report
from monitor.registry import on_model_update
from tests.conftest import _stack, session, wait_for
from tests.support.scenario import MODEL, write_model, write_window
from tests.support.sentinel import SentinelCluster

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(tmp_path):
    with SentinelCluster(tmp_path / "sentinel") as running:
        yield running


@pytest.fixture
def sentinel_stack(tmp_path, request, cluster, migrated_postgres_url):
    yield from _stack(tmp_path, request, {"MODELWATCH_BROKER_URL": cluster.url,
                                          "MODELWATCH_DATABASE_URL": migrated_postgres_url,
                                          "MODELWATCH_VISIBILITY_TIMEOUT": "30",
                                          "MODELWATCH_REDRIVE_AFTER": "60"})


def test_a_primary_killed_mid_chain_fails_over_and_the_chain_finishes_once(sentinel_stack, cluster, tmp_path):
    stack, url = sentinel_stack, sentinel_stack.database_url
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_model(tmp_path, hook.url)))  # while the sentinels meet
        on_model_update(MODEL, "2", settings=stack.settings())
        predictions, labels = write_window(tmp_path, version="2", recall=0.4)
        stack.cli("ingest", "predictions", str(predictions), "--model", MODEL)
        stack.cli("ingest", "labels", str(labels), "--model", MODEL)
        cluster.wait_ready()
        before = cluster.primary()

        # three processes: the forced run and beat's are each held in the failpoint, the third delivers
        gate = tmp_path / "hold-after-alert"
        gate.touch()
        stack.worker("w1", {"MODELWATCH_FAILPOINTS": f"alert.after=hold({gate})"}, concurrency=3)
        stack.beat()
        stack.celery("call", "tasks.check.run_check", "--args", json.dumps([MODEL]))
        forced = _wait_for_runs(url, lambda: _all_sent(url) and _forced_held_after_alert(url), 60,
                                "the forced run's alert stage to commit and its notifications to be sent, "
                                "the run held in the alert.after failpoint")

        cluster.kill_primary()  # the worker is held after the alert stage, with its unacked message
        killed = time.monotonic()
        promoted_after = cluster.wait_promoted()
        assert cluster.primary() != before
        gate.unlink()  # the redelivered messages go through

        _wait_for_runs(url, lambda: _all_reported(url), 120, "every check run to reach its report")
        recovered_after = time.monotonic() - killed
        _wait_for_runs(url, lambda: _action_state(url) == "succeeded", 30, "the rollback to run")
        # the rollback makes version 1 serve, and beat opens that version's window: it must finish too
        runs = _wait_for_runs(url, lambda: _all_reported(url, version="1"), 60,
                              "the rolled-back version's run, and every other, to reach its report")
        print(f"\nsentinel failover: promoted {promoted_after:.1f}s after kill -9, every run reported "
              f"{recovered_after:.1f}s after; runs {len(runs)}")

        with session(url) as s:
            assert all(run.status == "succeeded" for run in s.scalars(select(CheckRun))), \
                [(r.trigger, r.status, r.error) for r in s.scalars(select(CheckRun))]
            assert s.scalar(select(func.count()).select_from(Report)) == len(runs)
            action = s.scalar(select(RecoveryAction))
            assert (action.kind, action.executions) == ("rollback", 1)
            webhook = s.scalars(select(Notification).where(Notification.channel.like("%webhook"))).all()
            assert webhook and all((n.state, n.attempts) == ("sent", 1) for n in webhook)
        assert len(hook.received) == len(webhook)  # each notification reached the receiver exactly once
        log = (stack.logs / "worker-w1.log").read_text(errors="replace")
        assert f"run {forced}: message redelivered, resuming at" in log  # its unacked message came back
        # beat found the new primary too: its dispatches reach the reconnected worker
        wait_for(lambda: _beat_reached_worker_after_failover(stack), 30, "a beat dispatch after the failover")

    # modelwatch's own clients follow the promoted primary: writes go through, the gauge reads it.
    client = redis_clients.client(cluster.url, socket_timeout=2, socket_connect_timeout=2)
    assert client.publish("modelwatch:events", "{}") >= 0 and client.set("failover-probe", "1")
    assert broker_state(stack.settings()).up


def _beat_reached_worker_after_failover(stack) -> bool:
    log = (stack.logs / "worker-w1.log").read_text(errors="replace")
    after = log.partition("Connection to broker lost")[2]
    return "tasks.dispatch.dispatch_due[" in after and "succeeded in" in after.partition("tasks.dispatch.dispatch_due[")[2]


def _wait_for_runs(url: str, condition, timeout: float, what: str):
    """``wait_for``, and when it times out, a message with every run's stages and the actions'
    states: what a failover left behind is the diagnosis."""
    try:
        return wait_for(condition, timeout, what)
    except AssertionError as timed_out:
        with session(url) as s:
            runs = [(r.trigger, r.version, r.status, {k: (v or {}).get("state") for k, v in (r.stages or {}).items()})
                    for r in s.scalars(select(CheckRun))]
            actions = [(a.kind, a.state, a.executions) for a in s.scalars(select(RecoveryAction))]
        raise AssertionError(f"{timed_out}; runs {runs}; actions {actions}") from None


def _forced_held_after_alert(url: str) -> str | None:
    """The forced run's id once its alert stage committed and the next stage is not claimed: its
    worker is in the ``alert.after`` failpoint, holding the message."""
    with session(url) as s:
        forced = s.scalars(select(CheckRun).where(CheckRun.trigger != "schedule")).first()
        stages = (forced.stages or {}) if forced else {}
        held = (stages.get("alert") or {}).get("state") == "succeeded" and "schedule_recovery" not in stages
        return forced.id if held else None


def _all_sent(url: str) -> bool:
    with session(url) as s:
        states = s.scalars(select(Notification.state)).all()
        return bool(states) and all(state == "sent" for state in states)


def _all_reported(url: str, version: str | None = None):
    """Every run finished, once the forced one (and a run of ``version``, when given) exists:
    without the version, the wait after the rollback could end before beat opened version 1's
    window, and that run would still be pending at the assertions."""
    with session(url) as s:
        runs = s.scalars(select(CheckRun)).all()
        forced = [r for r in runs if r.trigger != "schedule"]
        if not forced or (version is not None and not any(r.version == version for r in runs)):
            return None
        if any(r.status not in ("succeeded", "failed") for r in runs):
            return None
        return runs


def _action_state(url: str):
    with session(url) as s:
        return s.scalar(select(RecoveryAction.state))
