"""The Arrow layout of stored rows (CONTRACT.md) and the window frame built from it.

Ingestion hands over a ``pyarrow.Table`` per batch; :func:`table_from_rows` builds the same table
from normalised row dicts (the old write path, still used by tests, notebooks and the migration of
legacy rows), so there is one layout on disk::

    predictions: request_id, ts, version, prediction, score, latency_ms, status, f.<feature>...
    labels:      request_id, label, ts

A class value column (``prediction``/``label``) is int64 when every value of the batch is an int,
bool when every value is a bool, float64 for numbers, else string. Features are float64 when every
value is a number, else string. The window frame drops the ``f.`` prefix.

>>> import datetime as dt
>>> now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
>>> table = table_from_rows("predictions", [{"request_id": "r1", "ts": now, "prediction": 1,
...                                          "features": {"age": 31, "city": "Oslo"}}])
>>> table.schema.field("f.age").type, table.schema.field("f.city").type, table.schema.field("prediction").type
(DataType(double), DataType(string), DataType(int64))
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

FEATURE = "f."
TS = pa.timestamp("us", tz="UTC")
BASE_PREDICTION = ["request_id", "ts", "version", "prediction", "score", "latency_ms", "status"]
BASE_LABEL = ["request_id", "label", "ts"]


def value_type(values: list[Any]) -> pa.DataType:
    """The contract's type of a class value column (None values ignored)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def value_array(values: list[Any], kind: pa.DataType | None = None) -> pa.Array:
    kind = kind or value_type(values)
    if pa.types.is_string(kind):
        values = [None if v is None else str(v) for v in values]
    elif pa.types.is_floating(kind):
        values = [None if v is None else float(v) for v in values]
    return pa.array(values, type=kind)


def feature_type(values: list[Any]) -> pa.DataType:
    present = [v for v in values if v is not None]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def table_from_rows(kind: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Normalised rows (``monitor.ingest``'s row layout) as the stored Arrow table."""
    if kind == "labels":
        return pa.table({"request_id": pa.array([r["request_id"] for r in rows], pa.string()),
                         "label": value_array([r["label"] for r in rows]),
                         "ts": pa.array([r.get("ts") for r in rows], TS)})
    columns: dict[str, pa.Array] = {
        "request_id": pa.array([r["request_id"] for r in rows], pa.string()),
        "ts": pa.array([r["ts"] for r in rows], TS),
        "version": pa.array([r.get("version") for r in rows], pa.string()),
        "prediction": value_array([r["prediction"] for r in rows]),
        "score": pa.array([r.get("score") for r in rows], pa.float64()),
        "latency_ms": pa.array([r.get("latency_ms") for r in rows], pa.float64()),
        "status": pa.array([r.get("status") for r in rows], pa.string()),
    }
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.get("features") or {}))
    for name in names:
        values = [(r.get("features") or {}).get(name) for r in rows]
        columns[FEATURE + name] = value_array(values, feature_type(values))
    return pa.table(columns)
