"""A stage task that failed for good: a permanent error fails its run; a transient one (database
or broker unreachable through every retry) leaves it open for the sweeper to re-drive."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.db.schema import utcnow
from monitor.errors import TransientError
from monitor.spec import parse_spec
from monitor.store import models as store, runs
from tests.conftest import session

pytestmark = pytest.mark.integration


def _run(url: str, status: str, start: dt.datetime) -> str:
    spec = parse_spec({"models": [{"name": "m", "task": "binary_classification"}]})[0]
    with session(url) as s:
        model, _ = store.upsert_model(s, spec)
        run, _ = runs.open_run(s, model_id=model.id, model_name="m", version=None, trigger="manual",
                               start=start, end=start + dt.timedelta(hours=1))
        run.status = status
        return run.id


def test_a_permanent_give_up_fails_the_run_a_transient_one_leaves_it_to_the_sweeper(db_url, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerDown
    from tasks.check import evaluate, schedule_recovery

    from monitor.check import redrive
    from monitor.config import Settings, get_settings

    monkeypatch.setenv("MODELWATCH_DATABASE_URL", db_url)
    get_settings.cache_clear()
    now = utcnow().replace(microsecond=0)
    broken = _run(db_url, "running", now - dt.timedelta(hours=3))
    stalled = _run(db_url, "running", now - dt.timedelta(hours=2))
    done = _run(db_url, "succeeded", now - dt.timedelta(hours=1))
    with session(db_url) as s:  # ``stalled`` got as far as schedule_recovery, whose publish then failed
        run = runs.get_run(s, stalled)
        run.created_at = now - dt.timedelta(hours=2)
        for stage in runs.STAGES[:5]:
            runs.mark_stage(s, run, stage, "succeeded", finished_at=(now - dt.timedelta(hours=2)).isoformat())
    # what Celery calls once a task failed for good (autoretry has no retries left, or no retry applies)
    evaluate.on_failure(ValueError("bad window"), "t1", ({"run_id": broken, "model": "m"},), {}, None)
    evaluate.on_failure(TransientError("database unreachable"), "t2", ({"run_id": done, "model": "m"},), {}, None)
    schedule_recovery.on_failure(BrokerDown("Error 111 connecting to 127.0.0.1:6379"), "t3",
                                 ({"run_id": stalled, "model": "m"},), {}, None)
    with session(db_url) as s:
        failed, open_run, finished = runs.get_run(s, broken), runs.get_run(s, stalled), runs.get_run(s, done)
        assert failed.status == "failed" and failed.finished_at is not None
        assert failed.error == "evaluate: gave up: ValueError: bad window"
        assert failed.stages["evaluate"]["state"] == "failed"
        assert (open_run.status, open_run.error) == ("running", None)
        assert (finished.status, finished.error) == ("succeeded", None)
        lost = redrive.find(s, Settings(database_url=db_url, redrive_after=60), {})
    # its actions are persisted but their publish failed, and report never started: the re-drive
    # goes back to schedule_recovery, whose stored plan is published again (each action claims itself)
    assert [(r.run_id, r.stage) for r in lost] == [(stalled, "schedule_recovery")]


def test_a_publish_to_an_unreachable_broker_raises_a_transient_error():
    """What ``schedule_recovery`` meets when Redis is down at its publish: retried, never a failed run."""
    from celery import Celery

    from tasks.base import TRANSIENT
    from tests.conftest import free_port

    client = Celery("publisher", broker=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(TRANSIENT):
        client.send_task("tasks.recovery.execute", args=[1])
