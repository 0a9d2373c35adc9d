"""Orphan segment files (written, then the transaction never committed) are swept once old enough,
on SQLite and PostgreSQL; a referenced segment is never touched, whatever its age or however the
log store root is spelled."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from monitor.config import get_settings
from monitor.db.schema import utcnow
from monitor.logstore import table_from_rows, write_segment
from monitor.spec import parse_spec
from monitor.store import logs, models as store_models
from tests.conftest import session

SPEC = {"name": "churn", "task": "binary_classification", "every": "1h", "window": "1h",
        "columns": {"numeric": ["x"], "categorical": ["region"]}}
HOURS_AGO = time.time() - 2 * 3600


def _rows(ids, ts):
    return [{"request_id": r, "ts": ts, "prediction": 1, "score": 0.8, "latency_ms": 10.0, "status": "ok",
             "features": {"x": float(i), "region": "north"}} for i, r in enumerate(ids)]


def _age(location: str) -> None:
    os.utime(location.removeprefix("file://"), (HOURS_AGO, HOURS_AGO))


def _setup(url: str):
    """A model with one stored batch (its file made old), an old orphan, an old temporary, a
    young orphan and an old file that is not a segment."""
    with session(url) as s:
        model_id = store_models.upsert_model(s, parse_spec(SPEC)[0])[0].id
        logs.insert_predictions(s, model_id, _rows(["a", "b"], utcnow() - dt.timedelta(minutes=5)), "1")
        root = logs._root(s)
        stored = list(s.scalars(logs.select(logs.LogSegment.location)))
    table = table_from_rows("predictions", _rows(["c"], utcnow()))
    old_orphan = write_segment(root, model_id, "predictions", table).location
    young_orphan = write_segment(root, model_id, "labels", table_from_rows("labels", [{"request_id": "a", "label": 1}])).location
    temporary = old_orphan.replace(".parquet", ".parquet.0123abcd.tmp")
    Path(temporary).write_bytes(b"half a file")
    stranger = Path(root) / "README.txt"
    stranger.write_text("not a segment")
    for location in [*stored, old_orphan, temporary, str(stranger)]:
        _age(location)
    return model_id, root, stored, old_orphan, young_orphan, temporary, stranger


def test_old_orphans_are_swept_and_stored_segments_kept(db_url):
    model_id, root, stored, old_orphan, young_orphan, temporary, stranger = _setup(db_url)
    with session(db_url) as s:
        swept = logs.sweep_orphan_segments(s)
    assert sorted(swept) == sorted([old_orphan, temporary])
    assert not Path(old_orphan).exists() and not Path(temporary).exists()
    assert Path(young_orphan).exists() and stranger.exists()  # too young; not a segment
    assert len(stored) == 1 and Path(stored[0]).exists()
    end = utcnow()
    with session(db_url) as s:
        watermark = logs.freeze_window(s, model_id, end - dt.timedelta(hours=1), end, None, key="sweep")
    with session(db_url) as s:  # the stored rows still read back, checksum verified
        frame = logs.load_window(s, model_id, end - dt.timedelta(hours=1), end, None, watermark)
    assert sorted(frame["request_id"]) == ["a", "b"]
    with session(db_url) as s:  # nothing left to sweep; a shorter age takes the young orphan too
        assert logs.sweep_orphan_segments(s) == []
        assert logs.sweep_orphan_segments(s, older_than=dt.timedelta(0)) == [young_orphan]


def test_a_root_spelled_differently_does_not_orphan_stored_segments(db_url, monkeypatch):
    _, root, stored, old_orphan, _, temporary, _ = _setup(db_url)
    monkeypatch.setenv("MODELWATCH_LOGSTORE_URL", "file://" + root)
    get_settings.cache_clear()
    with session(db_url) as s:
        swept = logs.sweep_orphan_segments(s)
    assert sorted(swept) == sorted(["file://" + old_orphan, "file://" + temporary])
    assert Path(stored[0]).exists()


def test_a_store_without_any_file_yet_sweeps_nothing(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELWATCH_LOGSTORE_URL", str(tmp_path / "never-written"))
    get_settings.cache_clear()
    with session(db_url) as s:
        assert logs.sweep_orphan_segments(s) == []


def test_beat_runs_the_sweep_as_a_task_only_when_the_operator_turns_it_on(sqlite_url, monkeypatch):
    from beat_schedule import beat_schedule
    from monitor.config import Settings
    from tasks.ingest import sweep_segments

    monkeypatch.setenv("MODELWATCH_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    _, _, stored, old_orphan, _, temporary, _ = _setup(sqlite_url)
    result = sweep_segments()
    assert result["swept"] == 2 and sorted(result["locations"]) == sorted([old_orphan, temporary])
    assert Path(stored[0]).exists()
    schedule = beat_schedule(Settings(segment_sweep_interval=86400))["sweep-orphan-segments"]
    assert (schedule["task"], schedule["schedule"]) == ("tasks.ingest.sweep_segments", 86400.0)
    assert "sweep-orphan-segments" not in beat_schedule(get_settings())  # off by default: a shared root
    get_settings.cache_clear()
