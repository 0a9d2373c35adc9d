"""Row validation: parse every column of a batch by the field plan and quarantine bad rows.

Validation works column by column on plain Python lists (a fast path maps the parser over the
whole column; only a column holding a bad value is walked cell by cell), never per-row pandas
operations. A bad row becomes a :class:`Rejected` whose reason names every bad column; a row
repeating a request id of the batch is counted as a duplicate and dropped (first one kept).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Callable

from monitor.ingest.plan import check_kind, field_plan, relevant_columns
from monitor.ingest.values import ABSENT, Bad, is_absent, jsonable, show
from monitor.spec import ModelSpec


@dataclass(frozen=True)
class Rejected:
    row_number: int  # 1-based data row number in the source (header not counted)
    reason: str  # e.g. "column 'ts': cannot parse 'yesterday' as a timestamp"
    row: dict  # the raw row, JSON-able


@dataclass(frozen=True)
class Batch:
    rows: list[dict]  # normalised good rows
    rejected: list[Rejected]
    duplicates: int = 0  # rows dropped because their request_id already appeared in this batch


_BAD = object()  # a value that failed to parse (its row is rejected)


def _parse_column(
    values: list, parse: Callable[[Any], Any], column: str, required: bool, keep_absent: bool,
    note: Callable[[int, str], None], missing: str = "missing value", gappy: bool = False,
) -> list:
    """Parse one column. Absent cells become None (or stay ``ABSENT`` when ``keep_absent``);
    only a ``gappy`` column may hold ``ABSENT``."""
    if not gappy:
        try:
            parsed = list(map(parse, values))  # the fast path: no bad value in this column
        except Exception:  # noqa: BLE001 - find the bad value(s) one by one below
            parsed = None
        if parsed is not None:
            if required and None in parsed:
                for i, value in enumerate(parsed):
                    if value is None:
                        note(i, f"column {column!r}: {missing}")
            return parsed
    parsed = []
    append = parsed.append
    for i, value in enumerate(values):
        if value is ABSENT:
            if required:
                note(i, f"column {column!r} is missing")
                append(_BAD)
            else:
                append(ABSENT if keep_absent else None)
            continue
        try:
            result = parse(value)
        except Bad as exc:
            note(i, f"column {column!r}: {exc}")
            append(_BAD)
            continue
        except Exception as exc:  # noqa: BLE001 - an odd value is a bad row, never a crash
            note(i, f"column {column!r}: cannot interpret {show(value)} ({type(exc).__name__}: {exc})")
            append(_BAD)
            continue
        if result is None and required:
            note(i, f"column {column!r}: {missing}")
        append(result)
    return parsed


def validate_columns(
    n: int,
    columns: dict[str, list],
    numbers: Any,
    raw: Callable[[int], dict],
    kind: str,
    spec: ModelSpec,
    now: dt.datetime | None,
    extra_rejected: list[Rejected] | None = None,
    gappy: frozenset[str] | set[str] = frozenset(),
) -> Batch:
    """The core: ``columns`` maps source column -> n values; a column named in ``gappy`` holds
    ``ABSENT`` where a row lacks it."""
    fields, features = field_plan(kind, spec, now)
    problems: dict[int, list[str]] = {}

    def note(i: int, message: str) -> None:
        problems.setdefault(i, []).append(message)

    parsed: dict[str, list] = {}
    for key, column, parse, required in fields:
        values = columns.get(column) if column else None
        if values is None:
            if required:
                for i in range(n):
                    note(i, f"column {column!r} is missing")
            parsed[key] = [None] * n
        else:
            missing = "empty request id" if key == "request_id" else "missing value"
            parsed[key] = _parse_column(values, parse, column, required, False, note, missing, column in gappy)
    feature_names: list[str] = []
    feature_columns: list[list] = []
    for name, parse in features:
        values = columns.get(name)
        if values is not None:
            feature_names.append(name)
            feature_columns.append(_parse_column(values, parse, name, False, True, note, gappy=name in gappy))
    gaps = any(name in gappy for name in feature_names)
    feature_rows = zip(*feature_columns) if feature_columns else repeat(())

    rows: list[dict] = []
    rejected: list[Rejected] = list(extra_rejected or ())
    seen: set = set()
    duplicates = 0
    if kind == "predictions":
        order = ("request_id", "ts", "version", "prediction", "score", "latency_ms", "status")
    elif kind == "interactions":
        order = ("request_id", "event", "value", "ts")
        _require_feedback_values(parsed, spec, note)
    else:
        order = ("request_id", "label", "ts")
    for i, values, features_row in zip(range(n), zip(*(parsed[k] for k in order)), feature_rows):
        if problems and i in problems:
            rejected.append(Rejected(numbers[i], "; ".join(problems[i]), raw(i)))
            continue
        key = (values[0], values[1], values[3]) if kind == "interactions" else values[0]
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        request_id = values[0]
        if kind == "interactions":
            rows.append({"request_id": request_id, "event": values[1], "value": values[2], "ts": values[3]})
            continue
        if kind == "labels":
            rows.append({"request_id": request_id, "label": values[1], "ts": values[2]})
            continue
        if gaps:
            feature_values = {k: v for k, v in zip(feature_names, features_row) if v is not ABSENT}
        else:
            feature_values = dict(zip(feature_names, features_row))
        rows.append({
            "request_id": request_id, "ts": values[1], "version": values[2], "features": feature_values,
            "prediction": values[3], "score": values[4], "latency_ms": values[5], "status": values[6],
        })
    if extra_rejected:
        rejected.sort(key=lambda r: r.row_number)
    return Batch(rows=rows, rejected=rejected, duplicates=duplicates)


def _require_feedback_values(parsed: dict[str, list], spec: ModelSpec, note: Callable[[int, str], None]) -> None:
    """A feedback event without a number says nothing; reject it rather than count it as absent."""
    feedback = set(spec.interactions.events.feedback)
    column = spec.interactions.value_column
    for i, (event, value) in enumerate(zip(parsed["event"], parsed["value"])):
        if event in feedback and value is None:
            note(i, f"column {column!r}: a {event!r} event needs a numeric value")


def validate_dicts(
    records: list[Any], numbers: list[int] | range, kind: str, spec: ModelSpec, now: dt.datetime | None,
    extra_rejected: list[Rejected] | None = None,
) -> Batch:
    """Validate row dicts (JSON Lines, or records given by a caller); non-dicts are rejected."""
    extra = list(extra_rejected or ())
    if all(isinstance(r, dict) for r in records):
        dicts, dict_numbers = records, numbers
    else:
        dicts, dict_numbers = [], []
        for number, record in zip(numbers, records):
            if isinstance(record, dict):
                dicts.append(record)
                dict_numbers.append(number)
            else:
                extra.append(Rejected(number, "expected an object (a mapping of column to value), "
                                      f"got {show(record)}", {"value": jsonable(record)}))
    columns = {c: [r.get(c, ABSENT) for r in dicts] for c in relevant_columns(kind, spec)}
    gappy = {c for c, values in columns.items() if any(map(is_absent, values))}
    return validate_columns(len(dicts), columns, dict_numbers, lambda i: jsonable(dicts[i]),
                             kind, spec, now, extra, gappy)


def validate_records(
    records: list[dict],
    kind: str,
    spec: ModelSpec,
    *,
    first_row_number: int = 1,
    now: dt.datetime | None = None,
) -> Batch:
    """Validate and normalise rows of ``kind`` ("predictions", "labels" or "interactions") for ``spec``.

    Row ``i`` of ``records`` is reported as row ``first_row_number + i``. Bad rows are rejected
    with a reason naming the column; rows repeating a request_id of this batch are counted in
    ``duplicates`` and dropped (the first one is kept). ``now`` (default: the current time) bounds
    timestamps: more than 1 day after it is rejected.
    """
    check_kind(kind)
    numbers = range(first_row_number, first_row_number + len(records))
    return validate_dicts(list(records), numbers, kind, spec, now)
