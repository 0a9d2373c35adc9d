"""A check's window over the log store: frozen as a list of segments, loaded once per process.

Freezing copies the ids of the segments that cover the window into ``window_segments`` with one
``INSERT ... SELECT`` (a ``UNION ALL`` of the two kinds' selections), inside the run's transaction.
Segments are immutable, so the list is the window: rows and labels committed later are in new
segments, which a retry never reads.

Which label segments a window takes: every label segment of the model committed before the
freeze and created no earlier than ``LABEL_LEAD`` before the window starts. A label is logged
after its prediction was served, so this keeps the old semantics (any label stored before the
freeze joins its prediction) while a check does not reread the model's whole label history; a
label logged more than a day before the start of its prediction's window is not joined.

A loaded window is a :class:`~monitor.logstore.columns.WindowColumns`: its row selection (made
once, after every segment's checksum) and the small columns the stages keep (label, prediction,
score, timestamps, status, latency, segment columns); a feature column is read from the segments
when a rule asks for it, so a worker never holds the whole window (a 1M-row, 25-feature window
is 283 MB as one frame). It is kept per process in a small LRU keyed by the window key, so the
collect, evaluate and detect stages of one run in one worker select the rows once. Callers must
not modify what it returns.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, literal, select, union_all
from sqlalchemy.orm import Session

from monitor.config import get_settings
from monitor.db.schema import LogSegment, WindowSegment
from monitor.logstore import join_labels, read_labels, read_predictions, to_frame
from monitor.logstore.columns import ColumnFrame, WindowColumns, open_window

#: how long before a window's start a label segment may have been written and still join it
LABEL_LEAD = dt.timedelta(days=1)
#: loaded windows kept per process (a worker runs one check's stages at a time, two for overlap)
CACHED_WINDOWS = 2

#: the columns every stage reads, kept in memory once read (features are read when asked)
SMALL_COLUMNS = ("ts", "prediction", "score", "latency_ms", "status", "label")

_cache: OrderedDict[tuple[str, str], WindowColumns] = OrderedDict()
_cache_lock = threading.Lock()


def _prediction_segments(model_id: int, start: dt.datetime, end: dt.datetime, version: str | None):
    conditions = [LogSegment.model_id == model_id, LogSegment.kind == "predictions",
                  LogSegment.min_ts < end, LogSegment.max_ts >= start]
    if version is not None:
        conditions.append(LogSegment.version == version)
    return conditions


def _label_segments(model_id: int, since: dt.datetime):
    return [LogSegment.model_id == model_id, LogSegment.kind == "labels", LogSegment.created_at >= since - LABEL_LEAD]


def freeze_window(session: Session, model_id: int, start: dt.datetime, end: dt.datetime,
                  version: str | None, key: str | None = None) -> dict[str, Any]:
    """Fix what a check sees: the segments covering the window now (no rows travel)."""
    key = key or uuid.uuid4().hex
    _cache.pop((_database(session), key), None)  # a retried freeze whose first attempt rolled back
    chosen = union_all(*(select(literal(key), LogSegment.id).where(*conditions) for conditions in
                         (_prediction_segments(model_id, start, end, version), _label_segments(model_id, start))))
    session.execute(insert(WindowSegment).from_select(["key", "segment_id"], chosen))  # both kinds, one statement
    window = _loaded(session, model_id, start, end, version, key)
    newest = window.column("ts", keep=True).max() if window.rows else None
    return {"key": key, "rows": window.rows, "labelled_rows": int(window.column("label", keep=True).notna().sum()),
            "newest_prediction": newest.isoformat() if newest is not None else None}


def release_window(session: Session, key: str) -> None:
    """Forget a frozen window once nothing will read it again (after the run's report)."""
    session.execute(delete(WindowSegment).where(WindowSegment.key == key))
    _cache.pop((_database(session), key), None)


def _database(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def _loaded(session: Session, model_id: int, start: dt.datetime, end: dt.datetime, version: str | None,
            key: str) -> WindowColumns:
    cache_key = (_database(session), key)
    with _cache_lock:  # a --pool threads worker shares the cache between its threads
        if cache_key in _cache:
            _cache.move_to_end(cache_key)
            return _cache[cache_key]
    segments = list(session.scalars(select(LogSegment).join(WindowSegment, WindowSegment.segment_id == LogSegment.id)
                                    .where(WindowSegment.key == key).order_by(LogSegment.id)))
    loaded = open_window([s for s in segments if s.kind == "predictions"], [s for s in segments if s.kind == "labels"],
                         start, end, version, cache_bytes=get_settings().window_cache_mb * 2**20)
    with _cache_lock:
        _cache[cache_key] = loaded
        while len(_cache) > CACHED_WINDOWS:
            _cache.popitem(last=False)
    return loaded


def load_window(session: Session, model_id: int, start: dt.datetime, end: dt.datetime,
                version: str | None, watermark: dict[str, Any], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The frozen window as a DataFrame: one row per prediction, its label (or None) beside it;
    only ``columns`` when given (the small ones, and those named, stay cached for later stages).

    Raises :class:`monitor.logstore.LostSegment` when a frozen segment's file is missing or
    altered, so the stage fails with that reason instead of counting fewer rows.
    """
    window = _loaded(session, model_id, start, end, version, watermark["key"])
    return window.frame(columns, keep=columns is not None)


def window_view(session: Session, model_id: int, start: dt.datetime, end: dt.datetime,
                version: str | None, watermark: dict[str, Any]) -> ColumnFrame:
    """The frozen window as a :class:`ColumnFrame`: every column by name, a feature read from the
    segments each time it is asked for (what the detect rules walk one column at a time)."""
    return _loaded(session, model_id, start, end, version, watermark["key"]).view()


def window_rows_since(session: Session, run: Any, first_id: int, columns: list[str]) -> pd.DataFrame:
    """The run's frozen window rows whose row id is at least ``first_id`` (a streaming alarm's
    first row), only ``columns``."""
    if not run.watermark or not run.watermark.get("key"):
        return pd.DataFrame(columns=columns)
    window = _loaded(session, run.model_id, run.window_start, run.window_end, run.version, run.watermark["key"])
    frame = window.frame(columns, keep=True)
    return frame.loc[window.row_ids >= first_id, columns].reset_index(drop=True)


def labelled_history(session: Session, model_id: int, since: dt.datetime, limit: int = 200_000) -> pd.DataFrame:
    """Recent labelled predictions of a model across versions (the retrain action's training data),
    oldest first, at most the newest ``limit`` rows."""
    segments = list(session.scalars(select(LogSegment).where(
        LogSegment.model_id == model_id, LogSegment.kind == "predictions", LogSegment.max_ts >= since)))
    predictions, _ = read_predictions(segments, since, None, None)
    if not predictions.num_columns:
        return to_frame(predictions)
    labels = list(session.scalars(select(LogSegment).where(*_label_segments(model_id, since))))
    joined = join_labels(predictions, read_labels(labels))
    joined = joined.filter(joined["label"].is_valid())
    return to_frame(joined.slice(max(0, len(joined) - limit)))
