"""The validation edge for logged predictions, labels and user interactions.

Bad *rows* never raise: each is quarantined as a :class:`Rejected` with its 1-based row number in
the source, a reason naming the column, and the raw row (made JSON-able); the good rows of the same
batch are kept. Only a whole-input problem raises :class:`monitor.errors.IngestError`: an unknown
file extension, an unreadable file, or a required column missing from the whole file.

Readers stream (CSV with the :mod:`csv` module, Parquet with ``ParquetFile.iter_batches``, JSON
Lines line by line), so a multi-GB file never loads whole. Validation works on plain Python dicts,
never per-row pandas operations.

Normalised rows (the ``ts`` datetimes are the only values that are not JSON-able)::

    predictions: {"request_id": str, "ts": aware UTC datetime, "version": str | None,
                  "features": {name: float | str | None}, "prediction": int | float | str | bool,
                  "score": float | None, "latency_ms": float | None, "status": str | None}
    labels:      {"request_id": str, "label": int | float | str | bool, "ts": aware UTC datetime | None}
    interactions: {"request_id": str, "event": str (lower case, a name the spec's interactions.events
                  knows), "value": float | None (required for feedback events), "ts": aware UTC datetime}

Within one batch a repeated request id (for interactions: the same request id, event and ts) is a
duplicate: the first row is kept.

Row numbers: CSV counts data rows (the header and blank lines are not counted); JSON Lines uses the
line number (blank lines are skipped but keep their number); Parquet counts rows from 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import operator
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from monitor.errors import IngestError
from monitor.spec import ModelSpec

KINDS = ("predictions", "labels", "interactions")

UTC = dt.timezone.utc
FUTURE_TOLERANCE = dt.timedelta(days=1)
MAX_LEN = {"request_id": 128, "version": 64, "status": 32, "event": 32}  # the database column widths

CSV_EXTENSIONS = (".csv",)
PARQUET_EXTENSIONS = (".parquet", ".pq")
JSONL_EXTENSIONS = (".jsonl", ".ndjson")
JSON_EXTENSIONS = (".json",)
ALL_EXTENSIONS = CSV_EXTENSIONS + PARQUET_EXTENSIONS + JSONL_EXTENSIONS + JSON_EXTENSIONS

# What pandas reads as NA by default; in a CSV these mean "missing" (except in the id column).
CSV_NA_VALUES = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ISO_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ABSENT = object()  # the record has no such key
_is_absent = partial(operator.is_, _ABSENT)
_INF = float("inf")


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


# --------------------------------------------------------------------------------------------
# value parsers: each returns the normalised value (None for missing) or raises _Bad(reason)
# --------------------------------------------------------------------------------------------


class _Bad(Exception):
    """A value that cannot be normalised; the message says why (without the column)."""


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unwrap(value: Any) -> Any:
    """numpy/pandas/Decimal scalars to plain Python; NA-likes to None. Other values unchanged."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.is_finite() else float(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def _parse_float(value: Any) -> float | None:
    t = type(value)
    if t is float:
        if value != value:
            return None
        if value == _INF or value == -_INF:
            raise _Bad(f"{value!r} is not a finite number")
        return value
    if t is int:
        try:
            return float(value)
        except OverflowError:
            raise _Bad(f"{_show(value)} is too large") from None
    if value is None:
        return None
    if t is str:
        try:
            number = float(value)  # float() ignores surrounding whitespace
        except ValueError:
            if not value.strip():
                return None
            raise _Bad(f"cannot parse {_show(value)} as a number") from None
        if number != number:
            return None
        if number == _INF or number == -_INF:
            raise _Bad(f"{_show(value)} is not a finite number")
        return number
    value = _unwrap(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return _parse_float(float(value) if type(value) is not int else int(value))
    raise _Bad(f"expected a number, got {_show(value)}")


def _parse_text(value: Any) -> str | None:
    """Versions, statuses and categorical values: strings; integral floats lose their '.0'."""
    t = type(value)
    if t is str:
        return value
    if value is None:
        return None
    if t is int:
        return str(value)
    if t is float:
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    value = _unwrap(value)
    if value is None:
        return None
    if isinstance(value, (str, int, float, bool)):
        return _parse_text(value) if type(value) in (str, int, float) else str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise _Bad(f"expected a single value, got {_show(value)}")


def _parse_id(value: Any) -> str | None:
    t = type(value)
    if t is str:
        text = value.strip()
        return text or None
    if t is int:
        return str(value)
    if value is None:
        return None
    if t is float:
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
        raise _Bad(f"expected a string or integer id, got the number {value!r}")
    value = _unwrap(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Bad(f"expected a string or integer id, got {_show(value)}")
    return _parse_id(value)


def _parse_class(value: Any) -> int | str | bool | None:
    """A class label or prediction: int, str or bool; integral floats become ints (1.0 == 1)."""
    t = type(value)
    if t is int or t is bool:
        return value
    if t is str:
        return value if value.strip() else None
    if value is None:
        return None
    if t is float:
        if value != value:
            return None
        if value.is_integer():
            return int(value)
        if value == _INF or value == -_INF:
            raise _Bad(f"{value!r} is not a class label")
        raise _Bad(
            f"expected a class label (integer, string or boolean), got the number {value!r} "
            "(is this a score?)"
        )
    value = _unwrap(value)
    if value is None:
        return None
    if type(value) in (int, bool, str, float):
        return _parse_class(value)
    raise _Bad(f"expected a class label (integer, string or boolean), got {_show(value)}")


def _parse_regression(value: Any) -> float | None:
    if type(value) is bool or isinstance(value, np.bool_):
        raise _Bad(f"expected a number, got {value!r}")
    return _parse_float(value)


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _from_epoch(seconds: float, original: Any) -> dt.datetime:
    if seconds != seconds or seconds in (_INF, -_INF):
        raise _Bad(f"{_show(original)} is not a finite number of epoch seconds")
    try:
        return _EPOCH + dt.timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        hint = " (epoch milliseconds? expected seconds)" if abs(seconds) > 1e11 else ""
        raise _Bad(f"epoch seconds {_show(original)} are out of range{hint}") from None


def _parse_ts(value: Any) -> dt.datetime | None:
    t = type(value)
    if t is str:
        text = value.strip()
        if not text:
            return None
        try:
            return _aware(dt.datetime.fromisoformat(text))
        except ValueError:
            pass
        if _NUMBER.match(text):
            return _from_epoch(float(text), value)
        if _ISO_PREFIX.match(text):  # e.g. nanoseconds, "2024-05-01 12:00:00 UTC"
            try:
                stamp = pd.Timestamp(text)
            except (ValueError, OverflowError):
                stamp = None
            if stamp is not None and stamp is not pd.NaT:
                return _aware(stamp.to_pydatetime(warn=False))
        raise _Bad(f"cannot parse {_show(value)} as a timestamp (expected ISO 8601 or epoch seconds)")
    if t is dt.datetime:
        return _aware(value)
    if value is None:
        return None
    if t is pd.Timestamp:
        return _aware(value.to_pydatetime(warn=False))
    if t is int or t is float:
        if t is float and value != value:
            return None
        return _from_epoch(value, value)
    value = _unwrap(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Bad(f"cannot parse {value!r} as a timestamp")
    if isinstance(value, pd.Timestamp):
        return _aware(value.to_pydatetime(warn=False))
    if isinstance(value, dt.datetime):
        return _aware(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (int, float, str)):
        return _parse_ts(value)
    raise _Bad(f"cannot parse {_show(value)} as a timestamp")


# --------------------------------------------------------------------------------------------
# JSON-able raw rows
# --------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        if value != value:
            return None
        return value if value not in (_INF, -_INF) else repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    value = _unwrap(value)
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, float):
        return _jsonable(float(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _required_columns(kind: str, spec: ModelSpec) -> list[str]:
    columns = spec.columns
    if kind == "predictions":
        return [columns.id, columns.timestamp, columns.prediction]
    if kind == "interactions":
        return [columns.id, spec.interactions.event_column, columns.timestamp]
    return [columns.id, columns.label]


def _relevant_columns(kind: str, spec: ModelSpec) -> list[str]:
    columns = spec.columns
    if kind == "predictions":
        names = [columns.id, columns.timestamp, columns.version, columns.prediction, columns.score,
                 columns.latency_ms, columns.status, *columns.numeric, *columns.categorical]
    elif kind == "interactions":
        names = [columns.id, spec.interactions.event_column, spec.interactions.value_column, columns.timestamp]
    else:
        names = [columns.id, columns.label, columns.timestamp]
    return list(dict.fromkeys(n for n in names if n))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def _field_plan(kind: str, spec: ModelSpec, now: dt.datetime | None):
    """[(output key, source column, parser, required)] and [(feature name, parser)]."""
    now = _aware(now) if now is not None else dt.datetime.now(UTC)
    limit = now + FUTURE_TOLERANCE
    columns = spec.columns
    classification = spec.task.is_classification
    scalar = _parse_class if classification else _parse_regression

    def request_id(value: Any) -> str | None:
        parsed = _parse_id(value)
        if parsed is not None and len(parsed) > MAX_LEN["request_id"]:
            raise _Bad(f"request id longer than {MAX_LEN['request_id']} characters")
        return parsed

    def timestamp(value: Any) -> dt.datetime | None:
        parsed = _parse_ts(value)
        if parsed is not None and parsed > limit:
            hint = ""
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and abs(value) > 1e11:
                hint = " (epoch milliseconds? expected seconds)"
            raise _Bad(
                f"timestamp {parsed.isoformat()} is more than 1 day in the future "
                f"(now {now.replace(microsecond=0).isoformat()}){hint}"
            )
        return parsed

    def score(value: Any) -> float | None:
        parsed = _parse_float(value)
        if parsed is not None and classification and not 0.0 <= parsed <= 1.0:
            raise _Bad(f"score {parsed!r} is outside [0, 1]")
        return parsed

    def latency(value: Any) -> float | None:
        parsed = _parse_float(value)
        if parsed is not None and parsed < 0:
            raise _Bad(f"latency {parsed!r} is negative")
        return parsed

    def bounded_text(key: str) -> Callable[[Any], str | None]:
        def parse(value: Any) -> str | None:
            parsed = _parse_text(value)
            if parsed is not None and not parsed.strip():
                return None
            if parsed is not None and len(parsed) > MAX_LEN[key]:
                raise _Bad(f"{key} longer than {MAX_LEN[key]} characters")
            return parsed

        return parse

    if kind == "predictions":
        fields = [
            ("request_id", columns.id, request_id, True),
            ("ts", columns.timestamp, timestamp, True),
            ("version", columns.version, bounded_text("version"), False),
            ("prediction", columns.prediction, scalar, True),
            ("score", columns.score, score, False),
            ("latency_ms", columns.latency_ms, latency, False),
            ("status", columns.status, bounded_text("status"), False),
        ]
        features = [(name, _parse_float) for name in columns.numeric]
        features += [(name, _parse_text) for name in columns.categorical]
    elif kind == "interactions":
        fields = [
            ("request_id", columns.id, request_id, True),
            ("event", spec.interactions.event_column, _event_parser(spec), True),
            ("value", spec.interactions.value_column, _parse_float, False),
            ("ts", columns.timestamp, timestamp, True),
        ]
        features = []
    else:
        fields = [
            ("request_id", columns.id, request_id, True),
            ("label", columns.label, scalar, True),
            ("ts", columns.timestamp, timestamp, False),
        ]
        features = []
    return fields, features


def _event_parser(spec: ModelSpec) -> Callable[[Any], str | None]:
    """An interaction's event name, lower-cased; one the spec does not know is a bad value."""
    events = spec.interactions.events
    known = set(events.known)

    def parse(value: Any) -> str | None:
        parsed = _parse_text(value)
        if parsed is None or not parsed.strip():
            return None
        name = parsed.strip().lower()
        if name not in known:
            raise _Bad(f"unknown event {_show(parsed)}; expected one of {events.known} "
                       "(interactions.events in the model spec says which names count as what)")
        return name

    return parse


_BAD = object()  # a value that failed to parse (its row is rejected)


def _parse_column(
    values: list, parse: Callable[[Any], Any], column: str, required: bool, keep_absent: bool,
    note: Callable[[int, str], None], missing: str = "missing value", gappy: bool = False,
) -> list:
    """Parse one column. Absent cells become None (or stay ``_ABSENT`` when ``keep_absent``);
    only a ``gappy`` column may hold ``_ABSENT``."""
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
        if value is _ABSENT:
            if required:
                note(i, f"column {column!r} is missing")
                append(_BAD)
            else:
                append(_ABSENT if keep_absent else None)
            continue
        try:
            result = parse(value)
        except _Bad as exc:
            note(i, f"column {column!r}: {exc}")
            append(_BAD)
            continue
        except Exception as exc:  # noqa: BLE001 - an odd value is a bad row, never a crash
            note(i, f"column {column!r}: cannot interpret {_show(value)} ({type(exc).__name__}: {exc})")
            append(_BAD)
            continue
        if result is None and required:
            note(i, f"column {column!r}: {missing}")
        append(result)
    return parsed


def _validate_columns(
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
    ``_ABSENT`` where a row lacks it."""
    fields, features = _field_plan(kind, spec, now)
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
            feature_values = {k: v for k, v in zip(feature_names, features_row) if v is not _ABSENT}
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


def _validate_dicts(
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
                                      f"got {_show(record)}", {"value": _jsonable(record)}))
    columns = {c: [r.get(c, _ABSENT) for r in dicts] for c in _relevant_columns(kind, spec)}
    gappy = {c for c, values in columns.items() if any(map(_is_absent, values))}
    return _validate_columns(len(dicts), columns, dict_numbers, lambda i: _jsonable(dicts[i]),
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
    _check_kind(kind)
    numbers = range(first_row_number, first_row_number + len(records))
    return _validate_dicts(list(records), numbers, kind, spec, now)


# --------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_EXTENSIONS:
        return "csv"
    if suffix in PARQUET_EXTENSIONS:
        return "parquet"
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    if suffix in JSON_EXTENSIONS:
        return "json"
    raise IngestError(
        f"{path}: unknown file extension {path.suffix or '(none)'!r}; "
        f"expected one of {', '.join(ALL_EXTENSIONS)}"
    )


def _check_columns(path: Path, found: Iterable[str], kind: str, spec: ModelSpec) -> None:
    found = list(found)
    present = set(found)
    missing = [c for c in _required_columns(kind, spec) if c not in present]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise IngestError(
            f"{path}: required {noun} {names} missing for {kind} of model {spec.name!r}; "
            f"columns found: {found}"
        )


def _unreadable(path: Path, exc: BaseException) -> IngestError:
    if isinstance(exc, FileNotFoundError):
        return IngestError(f"{path}: file not found")
    if isinstance(exc, IsADirectoryError):
        return IngestError(f"{path}: is a directory, not a file")
    if isinstance(exc, PermissionError):
        return IngestError(f"{path}: permission denied")
    if isinstance(exc, UnicodeDecodeError):
        return IngestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start} of a chunk)")
    return IngestError(f"{path}: cannot read file: {exc}")


def _infer_csv_scalar(value: str | None) -> Any:
    """CSV text of a prediction/label to int, float or bool when it is one (losslessly for ints)."""
    if value is None:
        return None
    text = value.strip()
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _NUMBER.match(text):
        if text.lstrip("+-").isdigit():
            number = int(text)
            if str(number) == text:  # "007" stays a string
                return number
            return value
        return float(text)
    return value


def _read_csv(path: Path, kind: str, spec: ModelSpec, batch_size: int, now) -> Iterator[Batch]:
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise IngestError(f"{path}: file is empty (expected a header row)") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(path, exc) from None
        _check_columns(path, header, kind, spec)
        duplicated = [c for c in _relevant_columns(kind, spec) if header.count(c) > 1]
        if duplicated:
            raise IngestError(f"{path}: the header repeats column(s) {duplicated}; which one to use is ambiguous")
    except BaseException:
        handle.close()
        raise
    return _iter_csv(path, handle, reader, header, kind, spec, batch_size, now)


def _iter_csv(path, handle, reader, header, kind, spec, batch_size, now) -> Iterator[Batch]:
    width = len(header)
    with handle:
        rows: list[list[str]] = []
        numbers: list[int] = []
        extra: list[Rejected] = []
        number = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except (UnicodeDecodeError, csv.Error) as exc:
                raise IngestError(f"{path}: cannot read data row {number + 1}: {exc}") from None
            if not fields:
                continue  # a blank line
            number += 1
            if len(fields) == width:
                rows.append(fields)
                numbers.append(number)
            else:
                raw = _csv_raw(header, fields, spec.columns.id)
                if len(fields) > width:
                    raw["_extra_fields"] = fields[width:]
                extra.append(Rejected(number, f"row has {len(fields)} fields but the header has {width}", raw))
            if len(rows) + len(extra) >= batch_size:
                yield _validate_csv_rows(header, rows, numbers, kind, spec, now, extra)
                rows, numbers, extra = [], [], []
        if rows or extra:
            yield _validate_csv_rows(header, rows, numbers, kind, spec, now, extra)


def _csv_raw(header: list[str], fields: list[str], id_column: str) -> dict:
    raw = {h: (None if v in CSV_NA_VALUES else v) for h, v in zip(header, fields)}
    if id_column in raw:
        value = fields[header.index(id_column)]
        raw[id_column] = value if value.strip() else None
    return raw


def _validate_csv_rows(header, rows, numbers, kind, spec, now, extra) -> Batch:
    """CSV text to typed columns: NA tokens -> None (an id is only missing when empty); a
    classifier's prediction/label text -> int/float/bool when it is one."""
    na = CSV_NA_VALUES
    id_column = spec.columns.id
    scalar_column = {"predictions": spec.columns.prediction, "labels": spec.columns.label}.get(kind)
    transposed = list(zip(*rows)) if rows else [() for _ in header]
    columns: dict[str, list] = {}
    for name in _relevant_columns(kind, spec):
        if name not in header:
            continue
        values = transposed[header.index(name)]
        if name == id_column:
            columns[name] = [v if v.strip() else None for v in values]
        else:
            converted = [None if v in na else v for v in values]
            if name == scalar_column and spec.task.is_classification:
                converted = list(map(_infer_csv_scalar, converted))
            columns[name] = converted
    return _validate_columns(len(rows), columns, numbers, lambda i: _csv_raw(header, rows[i], id_column),
                             kind, spec, now, extra)


def _read_parquet(path: Path, kind: str, spec: ModelSpec, batch_size: int, now) -> Iterator[Batch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except (pa.ArrowException, ValueError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file: {exc}") from None
    names = parquet.schema_arrow.names
    try:
        _check_columns(path, names, kind, spec)
    except BaseException:
        parquet.close()
        raise
    wanted = [c for c in _relevant_columns(kind, spec) if c in names]
    return _iter_parquet(path, parquet, wanted, kind, spec, batch_size, now)


def _iter_parquet(path, parquet, wanted, kind, spec, batch_size, now) -> Iterator[Batch]:
    import pyarrow as pa

    first = 1
    try:
        batches = parquet.iter_batches(batch_size=batch_size, columns=wanted)
        while True:
            try:
                record_batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError) as exc:
                raise IngestError(f"{path}: cannot read Parquet data after row {first - 1}: {exc}") from None
            if record_batch.num_rows == 0:
                continue
            names = record_batch.schema.names
            columns = {name: record_batch.column(i).to_pylist() for i, name in enumerate(names)}
            n = record_batch.num_rows

            def raw(i: int, columns=columns) -> dict:
                return _jsonable({name: values[i] for name, values in columns.items()})

            yield _validate_columns(n, columns, range(first, first + n), raw, kind, spec, now)
            first += n
    finally:
        parquet.close()


def _read_jsonl(path: Path, kind: str, spec: ModelSpec, batch_size: int, now, strict: bool) -> Iterator[Batch]:
    try:
        handle = open(path, encoding="utf-8-sig")
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        if strict:  # a .json file: accept it only when it is JSON Lines
            _sniff_json_lines(path, handle)
        chunks = _jsonl_chunks(path, handle, batch_size)
        checked = False
        pending: list[tuple] = []
        first = next(chunks, None)  # check the columns on the first chunk holding an object
        if first is not None:
            pending.append(first)
            objects = [r for r in first[0] if isinstance(r, dict)]
            if objects:
                _check_columns(path, list(dict.fromkeys(k for r in objects for k in r)), kind, spec)
                checked = True
    except BaseException:
        handle.close()
        raise
    return _iter_jsonl(handle, chunks, pending, checked, path, kind, spec, now)


def _iter_jsonl(handle, chunks, pending, checked, path, kind, spec, now) -> Iterator[Batch]:
    with handle:
        for records, numbers, extra in pending:
            yield _validate_dicts(records, numbers, kind, spec, now, extra)
        for records, numbers, extra in chunks:
            if not checked:
                objects = [r for r in records if isinstance(r, dict)]
                if objects:
                    _check_columns(path, list(dict.fromkeys(k for r in objects for k in r)), kind, spec)
                    checked = True
            yield _validate_dicts(records, numbers, kind, spec, now, extra)


def _sniff_json_lines(path: Path, handle) -> None:
    try:
        for line in handle:
            text = line.strip()
            if not text:
                continue
            if text.startswith("["):
                raise IngestError(
                    f"{path}: holds a JSON array; expected JSON Lines (one object per line, "
                    "e.g. a .jsonl file)"
                )
            try:
                json.loads(text)
            except ValueError:
                raise IngestError(
                    f"{path}: is not JSON Lines (its first line is not a complete JSON value); "
                    "expected one object per line"
                ) from None
            break
    except UnicodeDecodeError as exc:
        raise _unreadable(path, exc) from None
    handle.seek(0)


def _jsonl_chunks(path: Path, handle, batch_size: int) -> Iterator[tuple[list, list, list]]:
    records: list[Any] = []
    numbers: list[int] = []
    extra: list[Rejected] = []
    lineno = 0
    loads = json.loads
    try:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(loads(line))
                numbers.append(lineno)
            except ValueError as exc:
                text = line.rstrip("\r\n")
                extra.append(Rejected(lineno, f"invalid JSON: {exc}", {"line": text[:1000]}))
            if len(records) + len(extra) >= batch_size:
                yield records, numbers, extra
                records, numbers, extra = [], [], []
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text near line {lineno + 1} ({exc.reason})") from None
    if records or extra:
        yield records, numbers, extra


def read_batches(path: str | Path, kind: str, spec: ModelSpec, *, batch_size: int = 5000) -> Iterator[Batch]:
    """Stream a CSV, Parquet or JSON Lines file as validated :class:`Batch` es of ``batch_size`` rows.

    Whole-input problems (unknown extension, unreadable file, a required column missing) raise
    :class:`IngestError` at the call, before any batch is produced (a decoding error deep inside a
    file raises while iterating). Row numbers in ``Rejected`` count from the start of the file.
    """
    _check_kind(kind)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    path = Path(path)
    fmt = _format_of(path)
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if path.is_dir():
        raise IngestError(f"{path}: is a directory, not a file")
    now = None  # each batch bounds timestamps by the time it is validated
    if fmt == "csv":
        return _read_csv(path, kind, spec, batch_size, now)
    if fmt == "parquet":
        return _read_parquet(path, kind, spec, batch_size, now)
    return _read_jsonl(path, kind, spec, batch_size, now, strict=(fmt == "json"))


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # no newline after the last line
    return lines


def count_rows(path: str | Path) -> int | None:
    """A fast row count for a progress bar, or None when it is not cheap or not possible.

    Parquet: from the metadata. CSV and JSON Lines: the number of lines (minus the CSV header), so
    blank lines and quoted multi-line CSV fields make it approximate.
    """
    path = Path(path)
    try:
        fmt = _format_of(path)
    except IngestError:
        return None
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if fmt == "json":
            with open(path, encoding="utf-8-sig") as handle:
                _sniff_json_lines(path, handle)
        lines = _count_lines(path)
    except Exception:  # noqa: BLE001 - a progress bar falls back to "unknown"
        return None
    if fmt == "csv":
        return max(lines - 1, 0)
    return lines
