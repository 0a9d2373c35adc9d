"""A run waiting behind a long queue is not a lost run (issue 11): the sweeper asks the broker
whether a never-started run's first message is still there (``workers.queued_runs``), re-drives
the ones Redis lost, and keeps a forced run's priority when it does."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import time

import pytest
from celery import Celery
from kombu import Connection
from sqlalchemy import func, select

from monitor.check import redrive
from monitor.config import Settings
from monitor.db.migrate import upgrade
from monitor.db.schema import AuditEvent, CheckRun, utcnow
from monitor.spec import parse_spec
from monitor.store import models as store, runs
from tests.conftest import ROOT, session, wait_for
from tests.support.scenario import MODEL, seed_fraud
from workers import queued_runs
from workers.celeryconfig import PRIORITY_FORCED, PRIORITY_STEPS, STAGE_PRIORITIES, build_config

pytestmark = pytest.mark.integration


def _open(url: str, trigger: str, created: dt.datetime) -> str:
    spec = parse_spec({"models": [{"name": "m", "task": "binary_classification"}]})[0]
    with session(url) as s:
        model, _ = store.upsert_model(s, spec)
        run, _ = runs.open_run(s, model_id=model.id, model_name="m", version=None, trigger=trigger,
                               start=created - dt.timedelta(hours=1), end=created, rerun=True)
        run.created_at = created
        return run.id


def _broker(url: str) -> Connection:
    return Connection(url, transport_options={"priority_steps": PRIORITY_STEPS})


def test_a_queued_run_waits_and_a_run_redis_lost_is_redriven_with_its_priority(redis_server, db_url):
    settings = Settings(database_url=db_url, redrive_after=60, redrive_queued_after=3600)
    now = utcnow()
    queued = _open(db_url, "manual", now - dt.timedelta(minutes=20))  # behind a 20-minute queue
    never_published = _open(db_url, "schedule", now - dt.timedelta(minutes=20))
    stale_note = _open(db_url, "schedule", now - dt.timedelta(hours=3))  # a purged queue's leftover
    with _broker(redis_server["url"]) as broker:
        queued_runs.record([queued], broker, at=time.time() - 20 * 60)
        queued_runs.record([stale_note], broker, at=time.time() - 2 * 3600)
        lookup = lambda ids: queued_runs.published(ids, broker)  # noqa: E731
        with session(db_url) as s:
            names = {m.id: m.name for m in store.list_models(s)}
            first = {r.run_id: r for r in redrive.find(s, settings, names, now=now, queued=lookup)}
        assert set(first) == {never_published, stale_note}  # the queued run waits
        assert not first[never_published].forced

        redis_server["restart"]()  # Redis comes back empty: the message and its note are gone
        broker.close()
        with session(db_url) as s:
            later = redrive.find(s, settings, names, now=now + dt.timedelta(seconds=61), queued=lookup)
    lost = {r.run_id: r for r in later}
    assert queued in lost and lost[queued].stage == "collect"
    assert lost[queued].forced  # a person asked for it: re-published ahead of the scheduled fleet


_LAUNCH = """
from tasks.publish import launch
launch("forced", "m", forced=True)
launch("scheduled", "m")
launch("forced-later", "m", from_stage="evaluate", forced=True)
"""


def test_launch_notes_a_published_collect_and_keeps_each_stage_priority(redis_server, tmp_path):
    """``tasks.publish.launch`` as a front door calls it, in a process whose broker is this Redis."""
    url = redis_server["url"]
    client = _broker(url).default_channel.client
    client.flushdb()
    with _broker(url) as broker:
        from workers.app import app

        for queue in app.amqp.queues.values():  # as a worker does: Redis drops a message with no binding
            queue(broker.default_channel).declare()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
        env.update({"MODELWATCH_BROKER_URL": url, "MODELWATCH_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)})
        subprocess.run([sys.executable, "-c", _LAUNCH], env=env, cwd=ROOT, check=True, timeout=120)
        noted = queued_runs.published(["forced", "scheduled", "forced-later"], broker)
    assert set(noted) == {"forced", "scheduled"}  # a re-drive of a started run needs no note

    def heads(priority: int) -> list[str]:
        """The run ids of the messages queued at ``priority`` (kombu's list per priority step)."""
        name = "checks" if priority == 0 else f"checks\x06\x16{priority}"
        bodies = [json.loads(base64.b64decode(json.loads(raw)["body"])) for raw in client.lrange(name, 0, -1)]
        return [args[0]["run_id"] for args, _, _ in bodies]
    assert heads(PRIORITY_FORCED) == ["forced"]
    assert heads(STAGE_PRIORITIES["tasks.check.collect"]) == ["scheduled"]
    assert heads(STAGE_PRIORITIES["tasks.check.evaluate"]) == ["forced-later"]


RUNS = 10


def test_runs_waiting_behind_a_long_queue_are_not_redriven(redis_stack):
    """Ten checks queued at once on one worker process whose collect takes a second: the last
    ones wait far longer than ``redrive_after`` (2 s) with no stage started, while the sweeper
    looks every second. None is re-driven, each collect runs once, every note is dropped."""
    stack, url = redis_stack, redis_stack.database_url
    stack.env.update({"MODELWATCH_REDRIVE_AFTER": "2", "MODELWATCH_SWEEP_INTERVAL": "1",
                      "MODELWATCH_STREAM_INTERVAL": "0", "MODELWATCH_DISPATCH_INTERVAL": "3600",
                      "MODELWATCH_PROBE_INTERVAL": "3600"})
    upgrade(url)
    seed_fraud(url, [], recall=0.9, rows=200, reference_rows=500, seed=3)
    client = Celery("publisher")
    client.config_from_object(build_config(stack.settings()))
    for _ in range(RUNS):  # each opens its own run and publishes its chain (a forced check)
        client.send_task("tasks.check.run_check", args=[MODEL], kwargs={"rerun": True})
    stack.beat()
    stack.worker("w1", {"MODELWATCH_FAILPOINTS": "collect=sleep(1)"}, concurrency=1)

    def finished():
        with session(url) as s:
            states = s.scalars(select(CheckRun.status)).all()
            return len(states) == RUNS and all(state in ("succeeded", "failed") for state in states)
    wait_for(finished, 180, "the ten checks to finish")
    with session(url) as s:
        ended = s.scalars(select(CheckRun)).all()
        redriven = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == redrive.ACTION))
    assert {r.status for r in ended} == {"succeeded"}
    assert redriven == 0 and all(redrive.run_redrives(r) == 0 for r in ended)
    assert all(r.stages["collect"]["attempts"] == 1 for r in ended)
    waited = max(dt.datetime.fromisoformat(r.stages["collect"]["started_at"]) - r.created_at for r in ended)
    assert waited.total_seconds() > 2 * 2  # the queue was long enough to have fooled the old rule
    broker = Connection(stack.env["MODELWATCH_BROKER_URL"]).default_channel.client
    wait_for(lambda: broker.zcard(queued_runs.KEY) == 0, 10, "every run's note to be dropped after its collect")
