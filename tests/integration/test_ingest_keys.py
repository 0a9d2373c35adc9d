"""Exact duplicate counts when two writers race over the same request ids, and no file left
behind for rows that turned out to be duplicates (``monitor.logstore.keys``, ``store.logs``)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from monitor.db.engine import get_engine, session_scope
from monitor.db.schema import LogSegment, utcnow
from monitor.logstore import table_from_rows
from monitor.spec import parse_spec
from monitor.store import logs, models as store_models

SPEC = {"name": "churn", "task": "binary_classification", "every": "1h", "window": "1h",
        "columns": {"numeric": ["x"], "categorical": ["region"]}}


def _model(url: str) -> int:
    with session_scope(url) as s:
        return store_models.upsert_model(s, parse_spec(SPEC)[0])[0].id


def _table(ids, ts):
    return table_from_rows("predictions", [
        {"request_id": r, "ts": ts, "prediction": 1, "score": 0.5, "latency_ms": 1.0, "status": "ok",
         "features": {"x": float(i), "region": "north"}} for i, r in enumerate(ids)])


def _wait_until_blocked(url: str, deadline_s: float = 20.0) -> None:
    """PostgreSQL: until a backend waits on a lock (the second writer on the first's keys)."""
    deadline = time.monotonic() + deadline_s
    with get_engine(url).connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar()
            connection.commit()  # pg_stat_activity is a snapshot per transaction
            if waiting:
                return
            time.sleep(0.05)
    pytest.fail("the second writer never waited on the first one's keys")


def test_two_writers_racing_over_the_same_ids_count_each_id_once(db_url):
    model_id = _model(db_url)
    ts = utcnow() - dt.timedelta(minutes=1)
    results: dict[str, logs.InsertCounts] = {}

    def second_writer() -> None:
        with session_scope(db_url) as s:
            results["second"] = logs.store_table(s, model_id, "predictions", _table(["r2", "r3", "r4"], ts), "1")

    with session_scope(db_url) as first:
        results["first"] = logs.store_table(first, model_id, "predictions", _table(["r1", "r2", "r3"], ts), "1")
        racer = threading.Thread(target=second_writer)
        racer.start()
        if db_url.startswith("postgresql"):  # SQLite: the racer waits for the write lock instead
            _wait_until_blocked(db_url)
    racer.join(timeout=60)
    assert not racer.is_alive()
    assert results["first"] == logs.InsertCounts(3, 0)
    assert results["second"] == logs.InsertCounts(1, 2)
    with session_scope(db_url) as s:
        assert s.scalar(select(sa.func.sum(LogSegment.rows))) == 4
        segments = s.scalars(select(LogSegment).order_by(LogSegment.id)).all()
        start = ts - dt.timedelta(minutes=5)
        watermark = logs.freeze_window(s, model_id, start, utcnow(), None)
        window = logs.load_window(s, model_id, start, utcnow(), None, watermark)
    assert sorted(window["request_id"]) == ["r1", "r2", "r3", "r4"]
    folder = Path(segments[0].location).parent  # nothing but the two kept files
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(g.location).name for g in segments)


def test_a_batch_with_stored_ids_keeps_only_the_new_rows_and_no_extra_file(db_url):
    model_id = _model(db_url)
    ts = utcnow() - dt.timedelta(minutes=1)
    with session_scope(db_url) as s:
        assert logs.store_table(s, model_id, "predictions", _table(["a", "b"], ts), "1") == logs.InsertCounts(2, 0)
    with session_scope(db_url) as s:
        assert logs.store_table(s, model_id, "predictions", _table(["b", "c", "d"], ts), "1") == \
            logs.InsertCounts(2, 1)
    with session_scope(db_url) as s:
        assert logs.store_table(s, model_id, "predictions", _table(["a", "d"], ts), "1") == logs.InsertCounts(0, 2)
        segments = s.scalars(select(LogSegment).order_by(LogSegment.id)).all()
    assert [g.rows for g in segments] == [2, 2]
    folder = Path(segments[0].location).parent
    assert len(list(folder.iterdir())) == 2  # the optimistic files of the re-sent rows were deleted


def test_ids_with_quotes_separators_newlines_and_backslashes_are_keys_like_any_other(db_url):
    model_id = _model(db_url)
    ts = utcnow() - dt.timedelta(minutes=1)
    odd = ['a"b', "c,d", "e\nf", "g\\h", "\\N", "i\tj", " k ", "ünï"]
    with session_scope(db_url) as s:
        assert logs.store_table(s, model_id, "predictions", _table(odd, ts), "1") == logs.InsertCounts(len(odd), 0)
    with session_scope(db_url) as s:  # each comes back as a duplicate of itself, nothing else does
        assert logs.store_table(s, model_id, "predictions", _table([*odd, "new"], ts), "1") == \
            logs.InsertCounts(1, len(odd))
        stored = set(s.scalars(sa.text("SELECT request_id FROM log_keys")))
    assert stored == {*odd, "new"}
