"""A stage task whose transient retries ran out fails its run instead of leaving it ``running``."""

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


def test_a_stage_that_gives_up_fails_its_run_and_leaves_finished_runs_alone(db_url, monkeypatch):
    from tasks.check import evaluate

    from monitor.config import get_settings

    monkeypatch.setenv("MODELWATCH_DATABASE_URL", db_url)
    get_settings.cache_clear()
    now = utcnow().replace(microsecond=0)
    stuck = _run(db_url, "running", now - dt.timedelta(hours=2))
    done = _run(db_url, "succeeded", now - dt.timedelta(hours=1))
    for run_id in (stuck, done):  # what Celery calls once autoretry has no retries left
        evaluate.on_failure(TransientError("database unreachable"), "task-1", ({"run_id": run_id, "model": "m"},),
                            {}, None)
    with session(db_url) as s:
        failed, finished = runs.get_run(s, stuck), runs.get_run(s, done)
        assert failed.status == "failed" and failed.finished_at is not None
        assert failed.error == "evaluate: gave up after retries: TransientError: database unreachable"
        assert failed.stages["evaluate"]["state"] == "failed"
        assert (finished.status, finished.error) == ("succeeded", None)
