"""The columnar log store on SQLite and PostgreSQL: frozen windows that retries see identically,
request ids counted once, a lost segment failing the run by name, and the move of 0011's rows."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from monitor.check import stages
from monitor.check.evaluate import window_kpis
from monitor.check.runs import open_check
from monitor.config import Settings
from monitor.db.schema import CheckRun, LogSegment, utcnow
from monitor.logstore import LostSegment, table_from_rows
from monitor.spec import parse_spec
from monitor.store import log_windows, logs, models as store_models
from tests.conftest import session

SPEC = {"name": "churn", "task": "binary_classification", "every": "1h", "window": "1h",
        "columns": {"numeric": ["x"], "categorical": ["region"]}, "alerts": [{"log": {}}]}


@dataclass
class Batch:  # what monitor.ingest hands over (CONTRACT.md)
    table: pa.Table
    rejected: list = field(default_factory=list)
    duplicates: int = 0
    rows: list = field(default_factory=list)


def _model(url: str) -> int:
    with session(url) as s:
        return store_models.upsert_model(s, parse_spec(SPEC)[0])[0].id


def _rows(ids, ts, prediction=1):
    return [{"request_id": r, "ts": ts, "prediction": prediction, "score": 0.8, "latency_ms": 10.0, "status": "ok",
             "features": {"x": float(i), "region": "north"}} for i, r in enumerate(ids)]


def _fresh_read():
    """Forget this process's loaded windows: the next read is what another worker would see."""
    log_windows._cache.clear()


def test_retries_see_the_frozen_rows_even_when_rows_and_labels_arrive_after_the_freeze(db_url):
    model_id = _model(db_url)
    end = utcnow()
    start, inside = end - dt.timedelta(hours=1), end - dt.timedelta(minutes=5)
    with session(db_url) as s:
        logs.insert_predictions(s, model_id, _rows(["a", "b", "c"], inside), "1")
        logs.insert_labels(s, model_id, [{"request_id": "a", "label": 1}])
    with session(db_url) as s:
        watermark = logs.freeze_window(s, model_id, start, end, None, key="retry")
    with session(db_url) as s:  # after the freeze: a row, a label for a frozen row, a label for the new row
        logs.insert_predictions(s, model_id, _rows(["d"], inside), "1")
        logs.insert_labels(s, model_id, [{"request_id": "b", "label": 0}, {"request_id": "d", "label": 1}])
    frames = []
    for _ in range(2):  # two retries in fresh processes
        _fresh_read()
        with session(db_url) as s:
            frames.append(logs.load_window(s, model_id, start, end, None, watermark))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert list(frames[0]["request_id"]) == ["a", "b", "c"]
    assert list(frames[0]["label"]) == [1, None, None]
    assert watermark["rows"] == 3 and watermark["labelled_rows"] == 1


def test_a_window_cached_by_a_stage_that_rolled_back_still_reads_its_columns(db_url):
    """A stage that opened the window and then rolled back (a deadlock at commit, say) leaves the
    window in this process's cache; the retry on the same process must still read its features."""
    model_id = _model(db_url)
    end = utcnow()
    start = end - dt.timedelta(hours=1)
    with session(db_url) as s:
        logs.insert_predictions(s, model_id, _rows(["a", "b"], end - dt.timedelta(minutes=5)), "1")
        watermark = logs.freeze_window(s, model_id, start, end, None, key="rolled-back")
    _fresh_read()
    with pytest.raises(RuntimeError):
        with session(db_url) as s:
            log_windows.window_view(s, model_id, start, end, None, watermark)  # opened and cached...
            raise RuntimeError("the stage's commit failed")  # ...then the session rolled back
    with session(db_url) as s:
        view = log_windows.window_view(s, model_id, start, end, None, watermark)
    assert list(view["x"]) == [0.0, 1.0]


def test_a_duplicate_request_id_is_counted_once_within_and_across_batches(db_url):
    model_id = _model(db_url)
    now = utcnow()
    first = table_from_rows("predictions", _rows(["r1", "r2"], now - dt.timedelta(minutes=2)))
    second = table_from_rows("predictions", _rows(["r2", "r3"], now - dt.timedelta(minutes=1), prediction=0))
    with session(db_url) as s:  # ingest already dropped one in-batch repeat of r1 (duplicates=1)
        assert logs.save_batch(s, model_id, "predictions", Batch(first, duplicates=1), "test", "1") == \
            logs.InsertCounts(2, 1)
    with session(db_url) as s:
        assert logs.save_batch(s, model_id, "predictions", Batch(second), "test", "1") == logs.InsertCounts(1, 1)
        labels = table_from_rows("labels", [{"request_id": "r2", "label": 1}, {"request_id": "r2", "label": 0}])
        assert logs.save_batch(s, model_id, "labels", Batch(labels), "test", None) == logs.InsertCounts(1, 1)
    with session(db_url) as s:
        watermark = logs.freeze_window(s, model_id, now - dt.timedelta(hours=1), now, None)
        frame = logs.load_window(s, model_id, now - dt.timedelta(hours=1), now, None, watermark)
        assert s.scalar(select(sa.func.sum(LogSegment.rows)).where(LogSegment.kind == "predictions")) == 3
    assert list(frame["request_id"]) == ["r1", "r2", "r3"]
    assert list(frame["prediction"]) == [1, 1, 0]  # the first r2 kept, the re-sent one not stored
    assert list(frame["label"]) == [None, 1, None] and list(frame["version"]) == ["1", "1", "1"]


def test_a_lost_segment_fails_the_run_naming_the_segment_and_its_location(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url)
    model_id = _model(db_url)
    with session(db_url) as s:
        logs.insert_predictions(s, model_id, _rows(["a", "b"], utcnow() - dt.timedelta(minutes=1)), "1")
        logs.insert_labels(s, model_id, [{"request_id": "a", "label": 1}])
    with session(db_url) as s:
        run_id = open_check(s, "churn", trigger="manual").run_id
    stages.run_stage(settings, run_id, "collect", stages.collect)
    with session(db_url) as s:
        lost = s.scalars(select(LogSegment).where(LogSegment.kind == "predictions")).one()
    os.remove(lost.location)
    _fresh_read()
    with pytest.raises(stages.StageError):
        stages.run_stage(settings, run_id, "evaluate", stages.evaluate)
    with session(db_url) as s:
        run = s.get(CheckRun, run_id)
        assert run.status == "failed"
        assert f"log segment {lost.id} at {lost.location} is missing" in run.error


def test_a_changed_segment_file_is_refused(db_url):
    model_id = _model(db_url)
    now = utcnow()
    with session(db_url) as s:
        logs.insert_predictions(s, model_id, _rows(["a"], now - dt.timedelta(minutes=1)), "1")
    with session(db_url) as s:
        segment = s.scalars(select(LogSegment)).one()
        with open(segment.location, "r+b") as handle:  # same size, one byte flipped
            handle.seek(segment.bytes // 2)
            byte = handle.read(1)
            handle.seek(segment.bytes // 2)
            handle.write(bytes([byte[0] ^ 0xFF]))
        watermark_key = "changed"
        with pytest.raises(LostSegment, match=f"log segment {segment.id} at .* does not match its sha256"):
            logs.freeze_window(s, model_id, now - dt.timedelta(hours=1), now, None, key=watermark_key)


def _legacy_rows(bind, model_id: int, now: dt.datetime) -> pd.DataFrame:
    """Rows as 0011 stored them (JSON features), one of them holding a NUL the store cannot keep."""
    predictions = sa.table("predictions", *(sa.column(c) for c in (
        "model_id", "version", "request_id", "ts", "features", "prediction", "score", "latency_ms", "status",
        "received_at")))
    labels = sa.table("labels", *(sa.column(c) for c in ("model_id", "request_id", "label", "ts", "received_at")))
    naive = now.replace(tzinfo=None)
    good = [{"model_id": model_id, "version": "1", "request_id": f"r{i}", "ts": naive - dt.timedelta(seconds=i + 1),
             "features": json.dumps({"x": i * 0.5, "region": "north" if i % 3 else "south"}),
             "prediction": json.dumps(i % 2), "score": (i % 10) / 10, "latency_ms": 5.0, "status": "ok",
             "received_at": naive} for i in range(40)]
    poison = dict(good[0], request_id="poison", features=json.dumps({"x": 1.0, "region": "no\x00rth"}))
    bind.execute(predictions.insert(), [*good, poison])
    bind.execute(labels.insert(), [{"model_id": model_id, "request_id": f"r{i}", "label": json.dumps(int(i % 4 == 0)),
                                    "ts": None, "received_at": naive} for i in range(0, 40, 2)])
    frame = pd.DataFrame({"label": [int(i % 4 == 0) for i in range(0, 40, 2)],
                          "prediction": [i % 2 for i in range(0, 40, 2)],
                          "score": [(i % 10) / 10 for i in range(0, 40, 2)]})
    return frame


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_0011_database_moves_its_rows_into_segments_and_checks_the_same(backend, request, tmp_path):
    from alembic import command

    from monitor.db.engine import get_engine
    from monitor.db.migrate import alembic_config, upgrade

    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0011")
    model_id = _model(url)
    now = utcnow()
    with get_engine(url).begin() as bind:
        expected = _legacy_rows(bind, model_id, now)
    upgrade(url)
    spec = parse_spec(SPEC)[0]
    with session(url) as s:
        start = now - dt.timedelta(hours=1)
        watermark = logs.freeze_window(s, model_id, start, now, None)
        window = logs.load_window(s, model_id, start, now, None, watermark)
        quarantined = logs.quarantined(s, model_id)
    assert watermark["rows"] == 40 and watermark["labelled_rows"] == 20
    assert "poison" not in set(window["request_id"])
    assert [(q.kind, q.source) for q in quarantined] == [("predictions", "migration 0012")]
    assert "feature 'region'" in quarantined[0].reason and "NUL" in quarantined[0].reason
    labelled = window[window["label"].notna()]
    assert window_kpis(labelled, spec, True).kpis == window_kpis(expected, spec, True).kpis
    with get_engine(url).connect() as connection:
        assert not {"predictions", "labels", "window_rows"} & set(sa.inspect(connection).get_table_names())

