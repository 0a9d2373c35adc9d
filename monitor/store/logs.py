"""Prediction logs, labels and quarantined rows; a check's frozen window (``log_windows``).

Predictions and labels are stored as immutable Parquet segments (``monitor.logstore``), one per
batch and version, with their metadata in ``log_segments``. Writing a batch: drop repeats within
it, keep the request ids the model has never stored (``log_keys``), write those rows to a file,
then add the segment row in the caller's transaction. The file is written before the metadata
commits, so a crash leaves at worst an orphan file, never a row counted but missing.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.config import get_settings
from monitor.db.schema import LogSegment, QuarantinedRow
from monitor.logstore import (
    ROWS_PER_ID, SegmentFile, delete_segment, first_seen, root_for, table_from_rows, write_segment,
)
from monitor.logstore.sweep import stale_segment_files
from monitor.logstore.window import first_occurrences
from monitor.store.log_windows import (  # noqa: F401 - the window half of this repository
    SMALL_COLUMNS, freeze_window, labelled_history, load_window, release_window, window_rows_since, window_view,
)

KINDS = ("predictions", "labels")


@dataclass(frozen=True)
class InsertCounts:
    accepted: int
    duplicates: int


def insert_predictions(session: Session, model_id: int, rows: list[dict[str, Any]] | pa.Table,
                       default_version: str | None) -> InsertCounts:
    """Store prediction rows (normalised dicts, or the contract's Arrow table); a request id the
    model already has, or one repeated in ``rows``, is a duplicate."""
    return store_table(session, model_id, "predictions", _table("predictions", rows), default_version)


def insert_labels(session: Session, model_id: int, rows: list[dict[str, Any]] | pa.Table) -> InsertCounts:
    return store_table(session, model_id, "labels", _table("labels", rows), None)


def _table(kind: str, rows: list[dict[str, Any]] | pa.Table) -> pa.Table:
    return rows if isinstance(rows, pa.Table) else table_from_rows(kind, list(rows))


def save_batch(session: Session, model_id: int, kind: str, batch: Any, source: str,
               default_version: str | None) -> InsertCounts:
    """Write a validated :class:`monitor.ingest.Batch` (its ``table``, or its normalised ``rows``)
    and its rejected rows to quarantine, in the caller's transaction. The one write path of the
    client and the HTTP API. Duplicates: rows of ids the model already has plus ``batch.duplicates``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected 'predictions' or 'labels'")
    table = getattr(batch, "table", None)
    table = table if table is not None else table_from_rows(kind, batch.rows)
    counts = store_table(session, model_id, kind, table, default_version if kind == "predictions" else None)
    quarantine(session, model_id, kind, source, batch.rejected)
    return InsertCounts(counts.accepted, counts.duplicates + int(getattr(batch, "duplicates", 0) or 0))


def store_table(session: Session, model_id: int, kind: str, table: pa.Table,
                default_version: str | None) -> InsertCounts:
    """Keep the rows of ``table`` whose request id is new to the model, as one segment per version.

    The files are written in a thread while the database sorts out which ids are new (pyarrow
    and the database driver release the GIL): almost every batch is all new, so the files written
    optimistically are the ones kept. When some ids were stored before, those files are deleted
    and the new rows written again.
    """
    received = len(table)
    if not received:
        return InsertCounts(0, 0)
    if kind == "predictions" and default_version is not None and table["version"].null_count:
        table = table.set_column(table.schema.get_field_index("version"), "version",
                                 pc.fill_null(table["version"], default_version))
    table = table.combine_chunks()
    first = first_occurrences(table["request_id"].combine_chunks())
    if not pc.all(first).as_py():
        table = table.filter(first)
    root = _root(session)
    writing = in_background(_write_files, root, model_id, kind, table)
    try:
        new_mask = first_seen(session, model_id, kind, table["request_id"].combine_chunks())
    except BaseException:
        if writing.exception() is None:  # waits for the writer; its own failure matters less here
            _discard(writing.result())
        raise
    written = writing.result()
    new = table
    if not pc.all(new_mask).as_py():
        _discard(written)
        new = table.filter(new_mask)
        written = _write_files(root, model_id, kind, new)
    for part, file in written:
        _add_segment(session, model_id, kind, part, file)
    session.flush()
    return InsertCounts(len(new), received - len(new))


def in_background(function: Callable[..., Any], *args: Any) -> Future:
    """Run ``function(*args)`` in a new thread (not a pool: a pool made before a worker forks is
    dead in the child); its result or exception comes out of ``.result()``."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by .result()
            future.set_exception(exc)

    threading.Thread(target=run, name="segment-writer", daemon=True).start()
    return future


def _write_files(root: str, model_id: int, kind: str, table: pa.Table) -> list[tuple[pa.Table, SegmentFile]]:
    """One file per version, at most ``ROWS_PER_ID`` rows each (a row id is segment * 1M + position)."""
    return [(piece, write_segment(root, model_id, kind, piece))
            for part in _parts(table, kind)
            for piece in (part.slice(offset, ROWS_PER_ID) for offset in range(0, len(part), ROWS_PER_ID))]


def _discard(written: list[tuple[pa.Table, SegmentFile]]) -> None:
    for _, file in written:
        delete_segment(file.location)


def _parts(table: pa.Table, kind: str) -> list[pa.Table]:
    """One table per version (labels have none)."""
    if not len(table):
        return []
    if kind != "predictions":
        return [table]
    versions = pc.unique(table["version"]).to_pylist()
    if len(versions) == 1:
        return [table]
    return [table.filter(pc.is_null(table["version"]) if v is None else
                         pc.fill_null(pc.equal(table["version"], v), False)) for v in versions]


def _add_segment(session: Session, model_id: int, kind: str, table: pa.Table, written: SegmentFile) -> None:
    bounds = pc.min_max(table["ts"]).as_py() if "ts" in table.column_names else {"min": None, "max": None}
    version = table["version"][0].as_py() if kind == "predictions" else None
    session.add(LogSegment(model_id=model_id, kind=kind, version=version, min_ts=bounds["min"],
                           max_ts=bounds["max"], rows=len(table), location=written.location,
                           checksum=written.checksum, bytes=written.bytes))


#: A segment file younger than this may belong to a transaction about to commit: never swept.
ORPHAN_AGE = dt.timedelta(hours=1)


def sweep_orphan_segments(session: Session, older_than: dt.timedelta = ORPHAN_AGE) -> list[str]:
    """Delete the segment files under this database's log store root that no ``log_segments``
    row references and that were written more than ``older_than`` ago (a write whose transaction
    never committed: see ``monitor.logstore.sweep``); return their locations.

    A file counts as referenced when a segment row of its model ends with its name (a random
    32-hex name, unique), not by the whole location: a root spelled differently since
    (``/data/logstore`` then ``file:///data/logstore``) must not make a stored segment look orphaned.

    It assumes the root belongs to this database alone. Model ids start at 1 in every database, so
    in a root shared with another one (two SQLite files in one folder, two deployments on one
    bucket) that database's segments look unreferenced here and would be deleted; hence beat
    runs it only when the operator sets ``segment_sweep_interval``."""
    by_model: dict[int, list[str]] = {}
    for location in stale_segment_files(_root(session), older_than):
        model_id = int(location.rsplit("/model=", 1)[1].split("/", 1)[0])
        by_model.setdefault(model_id, []).append(location)
    swept: list[str] = []
    for model_id, locations in sorted(by_model.items()):
        stored = {name.rsplit("/", 1)[-1] for name in
                  session.scalars(select(LogSegment.location).where(LogSegment.model_id == model_id))}
        for location in locations:
            if location.rsplit("/", 1)[-1] not in stored:
                delete_segment(location)
                swept.append(location)
    return swept


def _root(session: Session) -> str:
    settings = get_settings()
    url = session.get_bind().url.render_as_string(hide_password=False)
    return root_for(url, settings.logstore_url, settings.data_dir)


def quarantine(session: Session, model_id: int | None, kind: str, source: str,
               rejected: Iterable[Any]) -> int:
    """Keep rejected rows with their reason, so nothing sent to modelwatch is silently lost."""
    rows = [{"model_id": model_id, "kind": kind, "source": source[:512], "row_number": r.row_number,
             "reason": r.reason, "row": r.row} for r in rejected]
    if rows:
        session.execute(QuarantinedRow.__table__.insert(), rows)
    return len(rows)


def quarantined(session: Session, model_id: int, limit: int = 100) -> list[QuarantinedRow]:
    return list(session.scalars(
        select(QuarantinedRow).where(QuarantinedRow.model_id == model_id)
        .order_by(QuarantinedRow.id.desc()).limit(limit)
    ))


def quarantined_between(session: Session, model_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """Rows of the model set aside during a window's time span (they never reached the window)."""
    return session.scalar(quarantined_count(model_id, start, end)) or 0


def quarantined_count(model_id: int, start: dt.datetime, end: dt.datetime):
    """:func:`quarantined_between`'s ``SELECT count(*)``, to run alone or as a scalar subquery."""
    return select(func.count()).select_from(QuarantinedRow).where(
        QuarantinedRow.model_id == model_id, QuarantinedRow.created_at >= start, QuarantinedRow.created_at < end)
