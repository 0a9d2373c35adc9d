"""A frozen window held as its row selection, each column decoded from the segments when asked.

A 1M-row, 25-feature window is 283 MB as one float64 frame, more than a worker's whole budget
beside its imports. So a check does not hold it: :func:`open_window` verifies every segment's
checksum once, reads the few columns that decide which rows are in the window (``ts``,
``version``, ``request_id``) and remembers the selection; :meth:`WindowColumns.column` then reads
one column from every segment by Parquet column projection, applies the same selection and
converts it exactly as :func:`monitor.logstore.window.to_frame` would (so the values, and every
p-value computed from them, are identical to the whole-frame path). Columns asked with
``keep=True`` (the small ones every stage reads: label, prediction, score, ...) stay in memory.

The selection is fixed when the window is opened and the segments are immutable, so every column
read later comes from the same rows: a frozen window stays frozen. A file deleted or truncated
after the checksum was verified fails the read as :class:`~monitor.logstore.LostSegment`.

A small window (its prediction segments at most :data:`WHOLE_WINDOW_BYTES` together: a small
model's 200 rows are about 20 KB) is read whole when it is opened instead: each file once, the
bytes that were verified decoded at once, every column then taken from memory. Opening it and
reading its columns one by one cost about ten file reads of ~1.2 ms each per check (the checksum
read, the row selection, the footer, then each column asked for); the decoded tables are a few
hundred KB at most, held as long as the window is (``monitor.store.log_windows`` keeps two). Its
columns come from the verified bytes, so a file deleted after the window was opened no longer
fails a later read: there is nothing left to read from it.

:class:`ColumnFrame` is the read-only, DataFrame-shaped view the detect rules get: ``frame[name]``
(a Series), ``frame[[names]]`` (a narrower view), ``name in frame``, ``len(frame)``,
``frame.columns``, ``frame.empty`` and ``frame.take(positions)`` (a real DataFrame of a few rows).

>>> import pandas as pd
>>> view = ColumnFrame(3, {"a": lambda: pd.Series([1.0, 2.0, 3.0])})
>>> list(view.columns), "a" in view, len(view), view["a"].sum(), view.take([0, 2])["a"].tolist()
(['a'], True, 3, np.float64(6.0), [1.0, 3.0])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor.logstore.files import read_segment, read_verified_columns, verify_segment
from monitor.logstore.tables import BASE_PREDICTION, FEATURE
from monitor.logstore.window import (ROWS_PER_ID, Segment, SegmentRef, first_occurrences, join_labels, read_labels,
                                     series_of, unify_tables as _unify)

#: the columns a window's rows are selected by
_SELECTING = ["request_id", "ts", "version"]
#: a window whose prediction segments hold at most this many bytes is read whole when opened
WHOLE_WINDOW_BYTES = 256 * 1024


class ColumnFrame:
    """Columns by name, each produced by its loader when read (nothing is cached here)."""

    def __init__(self, rows: int, loaders: dict[str, Callable[[], pd.Series]]):
        self._rows, self._loaders = rows, loaders

    @property
    def columns(self) -> pd.Index:
        return pd.Index(list(self._loaders))

    @property
    def empty(self) -> bool:
        return self._rows == 0 or not self._loaders

    def __len__(self) -> int:
        return self._rows

    def __contains__(self, name: object) -> bool:
        return name in self._loaders

    def __getitem__(self, key: str | Sequence[str]) -> Any:
        if isinstance(key, str):
            try:
                return self._loaders[key]()
            except KeyError:
                raise KeyError(key) from None
        return ColumnFrame(self._rows, {name: self._loaders[name] for name in key})

    def with_columns(self, extra: dict[str, Callable[[], pd.Series]]) -> "ColumnFrame":
        """This view plus (or with replaced) columns."""
        return ColumnFrame(self._rows, {**self._loaders, **extra})

    def take(self, positions: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """The rows at ``positions`` (a sample: every column is read once)."""
        positions = np.asarray(positions)
        return pd.DataFrame({name: load().iloc[positions].reset_index(drop=True)
                             for name, load in self._loaders.items()})


class WindowColumns:
    """One frozen window: which rows of which segments it holds, and their label column."""

    def __init__(self, segments: list[Segment], selections: list[np.ndarray | None], first: np.ndarray | None,
                 row_ids: np.ndarray, names: dict[str, str | None], label: pa.ChunkedArray | pa.Array,
                 cache_bytes: int = 0, tables: dict[int, pa.Table] | None = None):
        #: per segment, the positions of its rows in the window (None: all of them), then the
        #: positions of the first occurrence of each request id among those (None: all)
        self._segments, self._selections, self._first = segments, selections, first
        #: a small window's segments decoded whole, by segment id (columns are taken from these)
        self._tables = tables or {}
        self.row_ids, self._names, self._label = row_ids, names, label
        self._kept_columns: dict[str, pd.Series] = {}
        self._footers: dict[int, Any] = {}  # each segment's parsed Parquet footer, by segment id
        #: decoded columns kept up to this many bytes (the first ones read), beside ``keep``'s
        self._cache_bytes = cache_bytes
        self._cached: dict[str, pd.Series] = {}

    @property
    def rows(self) -> int:
        return len(self.row_ids)

    @property
    def columns(self) -> list[str]:
        """The window layout's column names (:func:`monitor.logstore.window.to_frame`'s order)."""
        return list(self._names)

    def column(self, name: str, keep: bool = False, cache: bool = True) -> pd.Series:
        """One column of the window's rows; ``keep`` holds it for later reads, ``cache=False``
        leaves it out of the cache (a reader that reads each column once)."""
        if name in self._kept_columns:
            return self._kept_columns[name]
        if name in self._cached:
            return self._cached[name]
        if name not in self._names:
            raise KeyError(name)
        series = series_of(name, self.arrow(name))
        _release_arrow_pages()
        if keep:
            self._kept_columns[name] = series
        elif cache and sum(s.memory_usage(index=False) for s in self._cached.values()) \
                + series.memory_usage(index=False) <= self._cache_bytes:
            self._cached[name] = series
        return series

    def arrow(self, name: str) -> pa.ChunkedArray | pa.Array:
        """One column as Arrow: read from each segment, types unified, the window's rows taken."""
        if name == "label":
            return self._label
        stored = self._names[name]
        if stored is None:
            return pa.nulls(self.rows, pa.string())
        parts = []
        for segment, selection in zip(self._segments, self._selections):
            whole = self._tables.get(segment.id)
            if whole is not None:
                table = whole.select([stored] if stored in whole.column_names else [])
            else:
                table = read_verified_columns(segment.id, segment.location, segment.bytes, [stored], self._footers)
            if not table.num_columns:
                table = pa.table({stored: pa.nulls(table.num_rows)})
            parts.append(table if selection is None else table.take(selection))
        column = _unify(parts)[stored]
        return column if self._first is None else column.take(self._first)

    def frame(self, names: Sequence[str] | None = None, keep: bool = False) -> pd.DataFrame:
        """The window (or the ``names`` columns of it) as one DataFrame."""
        names = self.columns if names is None else [n for n in names if n in self._names]
        if not self._segments:
            return pd.DataFrame(columns=[*BASE_PREDICTION, "label"])
        return pd.DataFrame({name: self.column(name, keep) for name in names}, copy=False)

    def view(self) -> ColumnFrame:
        """The window as a :class:`ColumnFrame` (columns read on demand). Its reads do not fill the
        cache: the detect stage reads each feature once, in one pass shared by its rules
        (``monitor.detect.rule.ColumnRule``), so a cached column would only hold memory; columns
        already kept or cached are served from memory."""
        return ColumnFrame(self.rows, {name: (lambda name=name: self.column(name, cache=False))
                                       for name in self._names})


def open_window(segments: Sequence[Segment], label_segments: Sequence[Segment], start: dt.datetime | None,
                end: dt.datetime | None, version: str | None, cache_bytes: int = 0,
                whole_up_to: int = WHOLE_WINDOW_BYTES) -> WindowColumns:
    """Verify the segments, select the window's rows (the same rows, in the same order, as
    :func:`monitor.logstore.window.read_predictions`) and join their labels; up to
    ``cache_bytes`` of decoded columns are kept for later reads. Segments of at most
    ``whole_up_to`` bytes together are read whole, once (the module's docstring)."""
    segments = sorted((SegmentRef.of(s) for s in segments), key=lambda s: s.id)
    if not segments:
        return WindowColumns([], [], None, np.empty(0, dtype=np.int64), _layout({}), pa.nulls(0))
    selections, ids, keys = [], [], []
    schema: dict[str, None] = {}
    tables: dict[int, pa.Table] = {}
    whole_window = sum(segment.bytes for segment in segments) <= whole_up_to
    for segment in segments:
        if whole_window:  # verified and decoded from the same bytes, in one read of the file
            tables[segment.id] = whole = read_segment(segment.id, segment.location, segment.checksum, segment.bytes)
            table = whole.select([c for c in _SELECTING if c in whole.column_names])
            schema.update(dict.fromkeys(whole.column_names))
        else:
            verify_segment(segment.id, segment.location, segment.checksum, segment.bytes)
            table = read_verified_columns(segment.id, segment.location, segment.bytes, _SELECTING)
            schema.update(dict.fromkeys(_stored_names(segment)))
        mask = np.ones(len(table), dtype=bool)
        if start is not None:
            mask &= np.asarray(pc.greater_equal(table["ts"], pa.scalar(start, table["ts"].type)))
        if end is not None:
            mask &= np.asarray(pc.less(table["ts"], pa.scalar(end, table["ts"].type)))
        if version is not None:
            mask &= np.asarray(pc.fill_null(pc.equal(table["version"], version), False)).astype(bool)
        positions = np.flatnonzero(mask)
        whole = len(positions) == len(table)
        selections.append(None if whole else positions)
        ids.append(positions + segment.id * ROWS_PER_ID)
        keys.append(table["request_id"] if whole else table["request_id"].take(positions))
    request_ids = pa.concat_arrays([chunk.cast(pa.string()) for part in keys for chunk in part.chunks]) \
        if any(len(part) for part in keys) else pa.array([], pa.string())
    row_ids, first = np.concatenate(ids), None
    is_first = first_occurrences(request_ids)
    if not pc.all(is_first).as_py():
        first = np.flatnonzero(np.asarray(is_first))
        row_ids, request_ids = row_ids[first], request_ids.take(first)
    label = join_labels(pa.table({"request_id": request_ids}), read_labels(label_segments))["label"]
    del request_ids, keys
    _release_arrow_pages()
    return WindowColumns(segments, selections, first, row_ids, _layout(schema), label, cache_bytes, tables)


def _release_arrow_pages() -> None:
    """Hand the Arrow allocator's freed pages back to the system: numpy and pandas allocate
    elsewhere, so pages Arrow keeps cached after a read only raise the worker's RSS."""
    pa.default_memory_pool().release_unused()


def _stored_names(segment: Segment) -> list[str]:
    """The segment's column names, from its Parquet footer (no column is decoded)."""
    import fsspec
    import pyarrow.parquet as pq

    fs, path = fsspec.core.url_to_fs(segment.location)
    with fs.open(path, "rb") as handle:
        return pq.ParquetFile(handle).schema_arrow.names


def _layout(stored: dict[str, None]) -> dict[str, str | None]:
    """Window column name -> stored column name (None: a base column no segment has), in
    :func:`~monitor.logstore.window.to_frame`'s order."""
    names: dict[str, str | None] = {n: (n if n in stored else None) for n in BASE_PREDICTION}
    for name in stored:
        short = name[len(FEATURE):]
        if name.startswith(FEATURE) and short not in (*BASE_PREDICTION, "label"):
            names[short] = name
    names["label"] = "label"
    return names
