"""Moving row-per-prediction tables (before migration 0012) into segments.

Each legacy row goes through the rules ingestion applies today: every string must be valid UTF-8
without NUL, features flat scalars. A row that fails (a lone surrogate or NUL stored through the
old JSON column) is quarantined with its reason instead of failing the migration or, later, a
check. Rows are read in chunks of ``CHUNK`` ids, so a large table never loads whole.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from monitor.logstore.files import write_segment
from monitor.logstore.tables import table_from_rows

CHUNK = 50_000


def problem(row: dict[str, Any], columns: tuple[str, ...]) -> str | None:
    """Why ``row`` cannot be stored in a segment, or None."""
    for column in columns:
        found = _bad(row.get(column))
        if found:
            return f"column {column!r}: {found}"
    for name, value in (row.get("features") or {}).items():
        if _bad(name):
            return f"a feature name: {_bad(name)}"
        if isinstance(value, (dict, list)):
            return f"feature {clean(name)!r} holds a nested value"
        found = _bad(value)
        if found:
            return f"feature {clean(name)!r}: {found}"
    if not isinstance(row.get("features") or {}, dict):
        return "column 'features' is not an object"
    return None


def _bad(value: Any) -> str | None:
    if not isinstance(value, str):
        return "holds a nested value" if isinstance(value, (dict, list)) else None
    if "\x00" in value:
        return "holds a NUL character, which the log store cannot keep"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (not valid UTF-8), which the log store cannot keep"
    return None


def clean(value: Any) -> Any:
    """``value`` made storable in JSON: lone surrogates and NULs escaped, datetimes as ISO text."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def decoded(value: Any, text: bool) -> Any:
    """A JSON column's value; ``text`` when the driver hands back the JSON text (SQLite)."""
    return json.loads(value) if text and isinstance(value, str) else value


def write_group(root: str, model_id: int, kind: str, rows: list[dict[str, Any]],
                add_segment: Callable[[dict[str, Any]], None]) -> None:
    """Write one (model, kind, version) group of good rows as a segment and record it."""
    table = table_from_rows(kind, rows)
    written = write_segment(root, model_id, kind, table)
    stamps = [r["ts"] for r in rows if r.get("ts") is not None]
    add_segment({"model_id": model_id, "kind": kind, "version": rows[0].get("version") if kind == "predictions" else None,
                 "min_ts": min(stamps, default=None), "max_ts": max(stamps, default=None), "rows": len(rows),
                 "location": written.location, "checksum": written.checksum, "bytes": written.bytes})
