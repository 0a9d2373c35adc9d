"""A window read from its frozen segments as typed columns, deduplicated and joined to labels.

Reading is columnar end to end: each segment's needed columns are read (after its checksum), the
rows outside ``[start, end)`` or of another version are filtered out in Arrow, and the pandas
frame is built once at the end, numeric columns as float64/int64 arrays (no per-row objects).

Duplicates are resolved the same way everywhere, as a safety net behind ``log_keys``: the first
row of a request id wins, in segment id order then row order (what the database's unique
constraint gave before). A prediction takes the first label of its request id.

Every row has a stable id, ``segment_id * ROWS_PER_ID + position``, which the streaming detectors
record (``first_id``/``last_id`` of a chunk) and the streaming confirmation reads back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor.logstore.files import read_segment
from monitor.logstore.tables import BASE_PREDICTION, FEATURE

#: a segment holds at most this many rows, so a row id maps back to (segment, position)
ROWS_PER_ID = 1_000_000


class Segment(Protocol):
    id: int
    location: str
    checksum: str
    bytes: int


@dataclass(frozen=True)
class SegmentRef:
    """A segment's address, detached from any database session: a window cached by a worker
    process reads its columns later, from other sessions, and an ORM row of a session that rolled
    back would be expired and unreadable by then."""

    id: int
    location: str
    checksum: str
    bytes: int

    @classmethod
    def of(cls, segment: Segment) -> "SegmentRef":
        return cls(segment.id, segment.location, segment.checksum, segment.bytes)


def read(segment: Segment, columns: list[str] | None = None) -> pa.Table:
    return read_segment(segment.id, segment.location, segment.checksum, segment.bytes, columns)


def first_occurrences(keys: pa.Array) -> pa.Array:
    """True where a key appears for the first time (``index_in`` returns the first match)."""
    first = pc.index_in(keys, value_set=keys)
    return pc.equal(first, pa.array(np.arange(len(keys), dtype=np.int32)))


def unify_tables(tables: list[pa.Table]) -> pa.Table:
    """One table from segments whose columns differ: a column a segment lacks is null there; an
    all-null column takes the others' type; numbers of mixed widths become float64; anything
    else that disagrees (a feature sent as a number, later as text) becomes text."""
    declared: dict[str, pa.DataType] = {}
    kinds: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for field in table.schema:
            if field.name not in declared or pa.types.is_null(declared[field.name]):
                declared[field.name] = field.type
            if table.column(field.name).null_count < len(table):
                kinds.setdefault(field.name, set()).add(field.type)
    target: dict[str, pa.DataType] = {}
    for name, first_type in declared.items():
        found = kinds.get(name, set())
        if len(found) == 1:
            target[name] = next(iter(found))
        elif not found:
            target[name] = first_type if not pa.types.is_null(first_type) else pa.string()
        elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in found):
            target[name] = pa.float64()
        else:
            target[name] = pa.string()
    unified = []
    for table in tables:
        columns = []
        for name, kind in target.items():
            if name not in table.column_names or table.column(name).null_count == len(table):
                columns.append(pa.nulls(len(table), kind))
            else:
                column = table.column(name)
                columns.append(column if column.type == kind else pc.cast(column, kind))
        unified.append(pa.table(columns, names=list(target)))
    return pa.concat_tables(unified) if unified else pa.table({})


def read_predictions(segments: Sequence[Segment], start: dt.datetime | None, end: dt.datetime | None,
                     version: str | None, columns: list[str] | None = None) -> tuple[pa.Table, np.ndarray]:
    """The window's prediction rows (first of each request id) and their row ids."""
    parts, ids = [], []
    wanted = None if columns is None else list(dict.fromkeys(["request_id", "ts", "version", *columns]))
    for segment in sorted(segments, key=lambda s: s.id):
        table = read(segment, wanted)
        mask = pa.array(np.ones(len(table), dtype=bool))
        if start is not None:
            mask = pc.and_(mask, pc.greater_equal(table["ts"], pa.scalar(start, table["ts"].type)))
        if end is not None:
            mask = pc.and_(mask, pc.less(table["ts"], pa.scalar(end, table["ts"].type)))
        if version is not None:
            mask = pc.and_(mask, pc.fill_null(pc.equal(table["version"], version), False))
        positions = np.arange(len(table), dtype=np.int64) + segment.id * ROWS_PER_ID
        if pc.all(mask).as_py():  # the usual case: the whole segment is in the window, no copy
            parts.append(table)
            ids.append(positions)
        else:
            parts.append(table.filter(mask))
            ids.append(positions[np.asarray(mask)])
    if not parts:
        return pa.table({}), np.empty(0, dtype=np.int64)
    table = unify_tables(parts)
    row_ids = np.concatenate(ids)
    first = first_occurrences(table["request_id"].combine_chunks())
    if not pc.all(first).as_py():
        table, row_ids = table.filter(first), row_ids[np.asarray(first)]
    return table, row_ids


def read_labels(segments: Iterable[Segment]) -> pa.Table:
    """``request_id`` and ``label`` of the label segments, the first label of a request id kept."""
    parts = [read(segment, ["request_id", "label"]) for segment in sorted(segments, key=lambda s: s.id)]
    if not parts:
        return pa.table({"request_id": pa.array([], pa.string()), "label": pa.array([], pa.null())})
    return unify_tables(parts)


def join_labels(predictions: pa.Table, labels: pa.Table) -> pa.Table:
    """``predictions`` with a ``label`` column: each request id's first label, or null."""
    keys = labels["request_id"].combine_chunks()
    where = pc.index_in(predictions["request_id"], value_set=keys)
    label = labels["label"].combine_chunks().take(where) if len(labels) else pa.nulls(len(predictions))
    return predictions.append_column("label", label)


def to_frame(table: pa.Table | list[pa.Table]) -> pd.DataFrame:
    """The window layout: base columns, then features without their ``f.`` prefix (a feature
    named like a base column is dropped, as before), then ``label``. Class values keep today's
    Python types: ints (or bools) with None where a label is missing, not NaN.

    Pass the table inside a one-element list (which is emptied): columns are then converted one
    at a time and each Arrow column is dropped once converted (numeric columns become numpy
    arrays, text columns stay Arrow-backed). Measured on a 1M-row window the Arrow allocator
    still reported its memory in use afterwards, so this lowers the peak only a little (610 to
    575 MiB); a copy-free numeric path is left to do (docs/architecture.md, "Log store").
    """
    if isinstance(table, list):
        table = table.pop()
    if not table.num_columns:
        return pd.DataFrame(columns=[*BASE_PREDICTION, "label"])
    rows = len(table)
    columns: dict[str, pa.ChunkedArray | pa.Array] = {
        n: table[n] if n in table.column_names else pa.nulls(rows, pa.string()) for n in BASE_PREDICTION}
    for name in table.column_names:
        short = name[len(FEATURE):]
        if name.startswith(FEATURE) and short not in (*BASE_PREDICTION, "label"):
            columns[short] = table[name]
    columns["label"] = table["label"] if "label" in table.column_names else pa.nulls(rows)
    del table
    data = {}
    for name in list(columns):
        data[name] = series_of(name, columns.pop(name))
        pa.default_memory_pool().release_unused()
    return pd.DataFrame(data, copy=False)


def series_of(name: str, column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """One window column as pandas: numbers as numpy arrays, text Arrow-backed, and a class
    label with missing values as Python objects (ints or bools, None where missing)."""
    if name == "label" and column.null_count and (pa.types.is_integer(column.type) or pa.types.is_boolean(column.type)):
        return pd.Series(column.to_pylist(), dtype=object, name=name)
    return column.to_pandas().rename(name)
