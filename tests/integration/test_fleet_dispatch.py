"""Batched dispatch: every due model gets exactly one run, however many dispatch cycles ask."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from monitor.check.runs import due_models, open_check, open_due_runs
from monitor.db.schema import CheckRun
from monitor.spec import parse_spec
from monitor.store import models as store
from tests.conftest import session

UTC = dt.timezone.utc


def _register(url: str, count: int, *, paused: int = 0) -> list[str]:
    names = [f"m{i:03d}" for i in range(count)]
    template = parse_spec({"models": [{"name": "m", "task": "binary_classification", "every": "5m",
                                       "window": "1h", "columns": {"numeric": ["x"]}}]})[0]
    with session(url) as s:
        for i, name in enumerate(names):
            model, _ = store.upsert_model(s, template.model_copy(update={"name": name}))
            if i % 2 == 0:  # half serve a version, half check all their rows (version None)
                store.add_version(s, model.id, "1")
                store.set_serving(s, model.id, "1")
            if i < paused:
                model.status = "paused"
    return names


def test_two_dispatch_cycles_open_exactly_one_run_per_due_model(db_url):
    names = _register(db_url, 30, paused=2)
    now = dt.datetime(2026, 1, 1, 12, 7, tzinfo=UTC)
    with session(db_url) as s:  # one model already has its window's run (a forced check of it
        open_check(s, names[5], trigger="schedule", now=now)  # by the schedule's own window)
    with session(db_url) as s:
        first = open_due_runs(s, now)
    with session(db_url) as s:
        second = open_due_runs(s, now + dt.timedelta(seconds=10))  # the next beat, same window
        assert due_models(s, now) == []
    assert sorted(r.model for r in first) == sorted(set(names[2:]) - {names[5]})
    assert second == []
    with session(db_url) as s:
        per_model = dict(s.execute(select(CheckRun.model_id, func.count()).group_by(CheckRun.model_id)).all())
        versions = dict(s.execute(select(CheckRun.id, CheckRun.version)).all())
    assert len(per_model) == 28 and set(per_model.values()) == {1}
    assert {versions[r.run_id] for r in first} == {"1", None}
    with session(db_url) as s:  # the next window is due again, once
        assert len(open_due_runs(s, now + dt.timedelta(minutes=5))) == 28


def test_the_fleet_is_opened_in_committed_batches_each_run_once(db_url):
    from monitor.check.runs import open_due_in_batches

    names = _register(db_url, 25)
    now = dt.datetime(2026, 1, 1, 12, 7, tzinfo=UTC)
    batches = open_due_in_batches(db_url, now, size=10)
    first = next(batches)
    with session(db_url) as s:  # the first batch is committed before the second is opened
        assert s.scalar(select(func.count()).select_from(CheckRun)) == 10
    opened = first + [run for batch in batches for run in batch]
    assert len(first) == 10 and sorted(r.model for r in opened) == sorted(names)
    assert list(open_due_in_batches(db_url, now + dt.timedelta(seconds=10), size=10)) == []


def test_a_dispatch_lock_is_held_by_one_holder_at_a_time_and_freed_after(db_url):
    from monitor.db.locks import exclusive

    with exclusive(db_url, "dispatch") as first:
        with exclusive(db_url, "dispatch") as second, exclusive(db_url, "sweep") as other:
            assert (first, second, other) == (True, False, True)
    with exclusive(db_url, "dispatch") as again:
        assert again


def test_a_dispatch_that_finds_another_one_running_returns_without_opening_anything(db_url, monkeypatch):
    from monitor.config import get_settings
    from monitor.db.locks import exclusive
    from tasks.dispatch import LOCK, dispatch_due

    _register(db_url, 3)
    monkeypatch.setenv("MODELWATCH_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with exclusive(db_url, LOCK) as held:  # the previous beat's dispatch, still publishing
        assert held
        assert dispatch_due() == {"started": 0, "skipped": "another dispatch is running"}
    with session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(CheckRun)) == 0
