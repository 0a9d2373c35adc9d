"""Queue ordering on Redis: a started run's next stage is taken before the collects still queued."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from monitor.db.migrate import upgrade
from monitor.db.schema import CheckRun
from tests.conftest import session, wait_for
from tests.support.scenario import seed_fraud

pytestmark = pytest.mark.integration

MODELS = ("fleet-a", "fleet-b", "fleet-c")


def _stamp(run: CheckRun, stage: str, field: str) -> dt.datetime:
    return dt.datetime.fromisoformat(run.stages[stage][field])


def test_started_runs_finish_before_queued_collects_start(redis_stack):
    """One dispatch queues three collects at once; with one worker process, each run's later
    stages (published as its collect ends) jump the two queued collects, so the runs go one after
    the other instead of three collects, then three evaluates, ... (FIFO)."""
    stack, url = redis_stack, redis_stack.database_url
    upgrade(url)
    for i, name in enumerate(MODELS):
        seed_fraud(url, [{"log": {}}], recall=0.9, rows=60, reference_rows=300, seed=i, name=name)
    stack.worker("w1", concurrency=1)
    stack.celery("call", "tasks.dispatch.dispatch_due")

    def finished():
        with session(url) as s:
            runs = list(s.scalars(select(CheckRun)))
            return runs if len(runs) == len(MODELS) and all(r.status == "succeeded" for r in runs) else None

    runs = sorted(wait_for(finished, 120, "three dispatched checks to succeed"),
                  key=lambda r: _stamp(r, "collect", "started_at"))
    for earlier, later in zip(runs, runs[1:]):
        assert _stamp(earlier, "report", "finished_at") <= _stamp(later, "collect", "started_at"), (
            f"{later.id}'s collect started before {earlier.id} finished: stages were taken FIFO")
