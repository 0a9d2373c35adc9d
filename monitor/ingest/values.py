"""Value parsers: one raw cell (CSV text, a JSON value, an Arrow scalar) to its normalised value.

Each parser returns the normalised value (None for missing) or raises :class:`Bad` with a reason
that does not name the column; :mod:`monitor.ingest.validate` adds the column and quarantines the
row. They are separate from validation because the same parser serves every reader and every
field (a timestamp is parsed the same way in a prediction, a label and an interaction).

>>> parse_float(" 2.5 ")
2.5
>>> parse_ts("1970-01-01T00:01:00").isoformat()
'1970-01-01T00:01:00+00:00'
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from decimal import Decimal
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

UTC = dt.timezone.utc

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ISO_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
ABSENT = object()  # the record has no such key
is_absent = partial(operator.is_, ABSENT)
_INF = float("inf")


class Bad(Exception):
    """A value that cannot be normalised; the message says why (without the column)."""


def show(value: Any, limit: int = 60) -> str:
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # repr of a 10 MB field would cost more than the row
    if isinstance(value, (dict, list, tuple)):
        return f"a nested {type(value).__name__} of {len(value)} item(s)"  # repr may recurse 200k deep
    try:
        text = repr(value)
    except RecursionError:
        return f"a nested {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clean(text: str) -> str:
    """``text`` when the database and a report can hold it; else :class:`Bad` saying why.

    PostgreSQL text cannot hold NUL, and a lone surrogate (``"\\ud800"`` in JSON) is not
    Unicode: either would make every later check of the model fail on encoding."""
    if "\x00" in text:
        raise Bad("contains a NUL character")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise Bad("contains a lone surrogate (not valid Unicode)") from None
    return text


def unwrap(value: Any) -> Any:
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


def parse_float(value: Any) -> float | None:
    t = type(value)
    if t is float:
        if value != value:
            return None
        if value == _INF or value == -_INF:
            raise Bad(f"{value!r} is not a finite number")
        return value
    if t is int:
        try:
            return float(value)
        except OverflowError:
            raise Bad(f"{show(value)} is too large") from None
    if value is None:
        return None
    if t is str:
        try:
            number = float(value)  # float() ignores surrounding whitespace
        except ValueError:
            if not value.strip():
                return None
            raise Bad(f"cannot parse {show(value)} as a number") from None
        if number != number:
            return None
        if number == _INF or number == -_INF:
            raise Bad(f"{show(value)} is not a finite number")
        return number
    value = unwrap(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return parse_float(float(value) if type(value) is not int else int(value))
    raise Bad(f"expected a number, got {show(value)}")


def parse_text(value: Any) -> str | None:
    """Versions, statuses and categorical values: strings; integral floats lose their '.0'."""
    t = type(value)
    if t is str:
        return clean(value)
    if value is None:
        return None
    if t is int:
        return str(value)
    if t is float:
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    value = unwrap(value)
    if value is None:
        return None
    if isinstance(value, (str, int, float, bool)):
        return parse_text(value) if type(value) in (str, int, float) else str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise Bad(f"expected a single value, got {show(value)}")


def parse_id(value: Any) -> str | None:
    t = type(value)
    if t is str:
        text = value.strip()
        return clean(text) or None
    if t is int:
        return str(value)
    if value is None:
        return None
    if t is float:
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
        raise Bad(f"expected a string or integer id, got the number {value!r}")
    value = unwrap(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Bad(f"expected a string or integer id, got {show(value)}")
    return parse_id(value)


def parse_class(value: Any) -> int | str | bool | None:
    """A class label or prediction: int, str or bool; integral floats become ints (1.0 == 1)."""
    t = type(value)
    if t is int or t is bool:
        return value
    if t is str:
        return clean(value) if value.strip() else None
    if value is None:
        return None
    if t is float:
        if value != value:
            return None
        if value.is_integer():
            return int(value)
        if value == _INF or value == -_INF:
            raise Bad(f"{value!r} is not a class label")
        raise Bad(
            f"expected a class label (integer, string or boolean), got the number {value!r} "
            "(is this a score?)"
        )
    value = unwrap(value)
    if value is None:
        return None
    if type(value) in (int, bool, str, float):
        return parse_class(value)
    raise Bad(f"expected a class label (integer, string or boolean), got {show(value)}")


def infer_csv_scalar(value: str | None) -> Any:
    """CSV text of a prediction/label to int, float or bool when it is one (losslessly for ints)."""
    if value is None:
        return None
    text = value.strip()
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if NUMBER.match(text):
        if text.lstrip("+-").isdigit():
            number = int(text)
            if str(number) == text:  # "007" stays a string
                return number
            return value
        return float(text)
    return value


def parse_regression(value: Any) -> float | None:
    if type(value) is bool or isinstance(value, np.bool_):
        raise Bad(f"expected a number, got {value!r}")
    return parse_float(value)


def aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _from_epoch(seconds: float, original: Any) -> dt.datetime:
    if seconds != seconds or seconds in (_INF, -_INF):
        raise Bad(f"{show(original)} is not a finite number of epoch seconds")
    try:
        return _EPOCH + dt.timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        hint = " (epoch milliseconds? expected seconds)" if abs(seconds) > 1e11 else ""
        raise Bad(f"epoch seconds {show(original)} are out of range{hint}") from None


def parse_ts(value: Any) -> dt.datetime | None:
    t = type(value)
    if t is str:
        text = value.strip()
        if not text:
            return None
        if len(text) > 64:
            raise Bad(f"cannot parse {show(value)} as a timestamp (longer than 64 characters)")
        try:
            return aware(dt.datetime.fromisoformat(text))
        except ValueError:
            pass
        if NUMBER.match(text):
            return _from_epoch(float(text), value)
        if _ISO_PREFIX.match(text):  # e.g. nanoseconds, "2024-05-01 12:00:00 UTC"
            try:
                stamp = pd.Timestamp(text)
            except (ValueError, OverflowError):
                stamp = None
            if stamp is not None and stamp is not pd.NaT:
                return aware(stamp.to_pydatetime(warn=False))
        raise Bad(f"cannot parse {show(value)} as a timestamp (expected ISO 8601 or epoch seconds)")
    if t is dt.datetime:
        return aware(value)
    if value is None:
        return None
    if t is pd.Timestamp:
        return aware(value.to_pydatetime(warn=False))
    if t is int or t is float:
        if t is float and value != value:
            return None
        return _from_epoch(value, value)
    value = unwrap(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise Bad(f"cannot parse {value!r} as a timestamp")
    if isinstance(value, pd.Timestamp):
        return aware(value.to_pydatetime(warn=False))
    if isinstance(value, dt.datetime):
        return aware(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (int, float, str)):
        return parse_ts(value)
    raise Bad(f"cannot parse {show(value)} as a timestamp")


# JSON-able raw rows: a quarantined row is stored as JSON, whatever the reader gave us.


_RAW_TEXT = 1000  # a quarantined row keeps this much of each text value
_RAW_DEPTH = 16


def _raw_text(text: str) -> str:
    if len(text) > _RAW_TEXT:
        text = f"{text[:_RAW_TEXT]}... ({len(text)} characters)"
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def jsonable(value: Any, depth: int = 0) -> Any:
    """A raw value as JSON the quarantine table can hold: text capped and cleaned of NUL and lone
    surrogates (replaced by U+FFFD), nesting cut at a fixed depth."""
    t = type(value)
    if t is str:
        return _raw_text(value)
    if t is int or t is bool or value is None:
        return value
    if t is float:
        if value != value:
            return None
        return value if value not in (_INF, -_INF) else repr(value)
    if isinstance(value, (dict, list, tuple, np.ndarray)) and depth >= _RAW_DEPTH:
        return f"<{type(value).__name__} nested more than {_RAW_DEPTH} deep>"
    if isinstance(value, dict):
        return {_raw_text(str(k)): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v, depth + 1) for v in value]
    value = unwrap(value)
    if value is None or type(value) in (int, bool):
        return value
    if type(value) is str:
        return _raw_text(value)
    if isinstance(value, float):
        return jsonable(float(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return _raw_text(bytes(value).decode("utf-8", errors="replace"))
    return _raw_text(str(value))
