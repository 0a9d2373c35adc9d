"""Vectorised cell conversion: one Arrow column to its normalised Arrow column, with no Python loop
over the cells that are plainly good.

Each converter returns the converted column and a *suspect* mask: the cells it could not decide
at Arrow speed (a value out of bounds, a NUL, text that is not plainly a number, an odd type).
:func:`convert` hands only those cells to the per-cell parser of :mod:`monitor.ingest.plan`,
which either accepts them or says why not. So the reasons (and every edge case) come from one
place, the per-cell parsers, while the common case never leaves Arrow: the fast path only
accepts what the parser would accept with the same value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("us", tz="UTC")
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"
_INT_TEXT = r"^-?(0|[1-9]\d{0,17})$"  # what int() reads back to the same text, within int64
_TRUE, _FALSE = ["true", "True", "TRUE"], ["false", "False", "FALSE"]
_EPOCH_LIMIT = 1e11  # epoch seconds beyond this go to the parser (out of range, or milliseconds)


@dataclass(frozen=True)
class Target:
    """What a key becomes: ``kind`` is one of id, text, float, ts, class, any (always per cell)."""

    kind: str
    cap: int | None = None  # text/id: the most characters
    blank_is_null: bool = False  # text: whitespace-only is missing
    low: float | None = None  # float: bounds (outside goes to the parser, which says why)
    high: float | None = None
    limit: dt.datetime | None = None  # ts: the latest accepted moment
    regression: bool = False  # float: a bool is not a number here
    csv_scalar: bool = False  # class: CSV text "1"/"true"/"1.0" means 1/True/1


def _mask(array: pa.Array) -> np.ndarray:
    """A boolean Arrow array (nulls = False) as numpy."""
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _none(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


def _text_of(array: pa.Array) -> pa.Array | None:
    """Text cells as a ``string`` column (the readers hand over only valid UTF-8)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    return array.cast(pa.string()) if array.type != pa.string() else array


def _poison(text: pa.Array) -> np.ndarray:
    return _mask(pc.match_substring(text, "\x00"))


def fast_id(array: pa.Array, target: Target) -> tuple[pa.Array | None, np.ndarray]:
    text = _text_of(array)
    if text is None and pa.types.is_integer(array.type):
        return array.cast(pa.string()), _none(len(array))
    if text is None:
        return None, np.ones(len(array), dtype=bool)
    trimmed = pc.utf8_trim_whitespace(text)
    suspect = _mask(pc.greater(pc.utf8_length(trimmed), target.cap)) | _poison(trimmed)
    empty = pc.equal(pc.utf8_length(trimmed), 0)
    return pc.if_else(empty, pa.scalar(None, pa.string()), trimmed), suspect


def fast_text(array: pa.Array, target: Target) -> tuple[pa.Array | None, np.ndarray]:
    text = _text_of(array)
    if text is None and pa.types.is_integer(array.type):
        text = array.cast(pa.string())
    if text is None:
        if pa.types.is_null(array.type):
            return pa.nulls(len(array), pa.string()), _none(len(array))
        return None, np.ones(len(array), dtype=bool)
    suspect = _poison(text)
    if target.cap is not None:
        suspect |= _mask(pc.greater(pc.utf8_length(text), target.cap))
    if target.blank_is_null:
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
        text = pc.if_else(blank, pa.scalar(None, pa.string()), text)
    return text, suspect


def _bounded(values: pa.Array, suspect: np.ndarray, target: Target) -> tuple[pa.Array, np.ndarray]:
    """float64 values: NaN is missing; infinities and values outside [low, high] go to the parser."""
    values = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
    suspect = suspect | ~_mask(pc.is_finite(values)) & _mask(pc.is_valid(values))
    if target.low is not None:
        suspect |= _mask(pc.less(values, target.low))
    if target.high is not None:
        suspect |= _mask(pc.greater(values, target.high))
    return values, suspect


def fast_float(array: pa.Array, target: Target) -> tuple[pa.Array | None, np.ndarray]:
    n = len(array)
    kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(n, pa.float64()), _none(n)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _bounded(array.cast(pa.float64()), _none(n), target)
    text = _text_of(array)
    if text is None:
        return None, np.ones(n, dtype=bool)
    trimmed = pc.utf8_trim_whitespace(text)
    try:  # the common case: every cell is a plain number (Arrow's parser; no regex)
        return _bounded(pc.cast(trimmed, pa.float64()), _none(n), target)
    except pa.ArrowInvalid:
        pass
    blank = _mask(pc.equal(pc.utf8_length(trimmed), 0))
    number = _mask(pc.match_substring_regex(trimmed, _NUMBER))
    suspect = ~(blank | number) & _mask(pc.is_valid(text))
    keep = pa.array(number)
    values = pc.cast(pc.if_else(keep, trimmed, pa.scalar(None, pa.string())), pa.float64())
    return _bounded(values, suspect, target)


def fast_ts(array: pa.Array, target: Target) -> tuple[pa.Array | None, np.ndarray]:
    n = len(array)
    kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(n, TS), _none(n)
    if pa.types.is_timestamp(kind):
        values = array.cast(pa.timestamp("us", tz=kind.tz or "UTC"), safe=False).cast(TS)
        suspect = _none(n)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        seconds = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            ok = np.abs(seconds) < _EPOCH_LIMIT
        suspect = ~ok & ~np.isnan(seconds)
        micros = np.where(ok, np.round(np.where(ok, seconds, 0) * 1e6), 0).astype("int64")
        values = pa.array(micros, type=pa.int64(), mask=~ok).cast(TS)
    else:
        text = _text_of(array)
        if text is None:
            return None, np.ones(n, dtype=bool)
        trimmed = pc.utf8_trim_whitespace(text)
        blank = _mask(pc.equal(pc.utf8_length(trimmed), 0))
        iso = _mask(pc.match_substring_regex(trimmed, _ISO))
        stamps = pd.to_datetime(pd.Series(trimmed.to_numpy(zero_copy_only=False)).where(iso, None),
                                format="ISO8601", utc=True, errors="coerce")
        parsed = ~stamps.isna().to_numpy()
        suspect = ~blank & ~parsed & _mask(pc.is_valid(text))
        values = pa.Array.from_pandas(stamps.astype("datetime64[us, UTC]")).cast(TS)
    if target.limit is not None:
        suspect |= _mask(pc.greater(values, pa.scalar(target.limit, TS)))
    return values, suspect


def fast_class(array: pa.Array, target: Target) -> tuple[pa.Array | None, np.ndarray]:
    """Class labels: an int64 or bool column when every value is one; otherwise per cell."""
    n = len(array)
    kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(n, pa.int64()), _none(n)
    if pa.types.is_integer(kind):
        return array.cast(pa.int64()), _none(n)
    if pa.types.is_boolean(kind):
        return array, _none(n)
    if pa.types.is_floating(kind):
        values = array.cast(pa.float64())
        values = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
        integral = _mask(pc.equal(pc.floor(values), values)) & _mask(pc.less(pc.abs(values), 2.0 ** 53))
        if (integral | ~_mask(pc.is_valid(values))).all():
            return values.cast(pa.int64()), _none(n)
        return None, np.ones(n, dtype=bool)
    text = _text_of(array)
    if text is None or not target.csv_scalar:
        return None, np.ones(n, dtype=bool)
    trimmed = pc.utf8_trim_whitespace(text)
    valid = _mask(pc.is_valid(text))
    if (_mask(pc.match_substring_regex(trimmed, _INT_TEXT)) | ~valid).all():
        return pc.cast(trimmed, pa.int64()), _none(n)
    true, false = _mask(pc.is_in(trimmed, pa.array(_TRUE))), _mask(pc.is_in(trimmed, pa.array(_FALSE)))
    if (true | false | ~valid).all():
        return pc.if_else(pc.is_valid(text), pa.array(true), pa.scalar(None, pa.bool_())), _none(n)
    return None, np.ones(n, dtype=bool)


FAST: dict[str, Callable[[pa.Array, Target], tuple[pa.Array | None, np.ndarray]]] = {
    "id": fast_id, "text": fast_text, "float": fast_float, "ts": fast_ts, "class": fast_class,
}
ARROW_TYPE = {"id": pa.string(), "text": pa.string(), "float": pa.float64(), "ts": TS}


def class_array(values: list) -> pa.Array:
    """Normalised class labels as one column: int64 if all ints, bool if all bools, else text
    (ints and bools rendered with ``str``)."""
    present = [v for v in values if v is not None]
    if all(type(v) is bool for v in present):
        return pa.array(values, type=pa.bool_())
    if all(type(v) is int for v in present):
        try:
            return pa.array(values, type=pa.int64())
        except (OverflowError, pa.ArrowException):
            pass
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def convert(
    array: pa.Array | None, n: int, target: Target, parse: Callable[[Any], Any], source: Callable[[int], Any],
    note: Callable[[int, str], None], column: str,
) -> pa.Array:
    """The normalised column of ``array`` (None: the values could not become one Arrow column, so
    every cell goes to the parser); bad cells become null and are noted with their reason.

    ``source(i)`` gives the original value of cell ``i`` (for the parser and its message)."""
    fast, suspect = (None, np.ones(n, dtype=bool))
    if array is not None and target.kind in FAST:
        try:
            fast, suspect = FAST[target.kind](array, target)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            fast, suspect = None, np.ones(len(array), dtype=bool)
    if fast is not None and not suspect.any():
        return fast
    indices = np.flatnonzero(suspect) if fast is not None else range(n)
    parsed: list = []
    for i in indices:
        i = int(i)
        try:
            parsed.append(parse(source(i)))
        except Exception as exc:  # noqa: BLE001 - a bad or odd value is a bad row, never a crash
            note(i, _reason(column, exc, source, i))
            parsed.append(None)
    if fast is None:
        return class_array(parsed) if target.kind == "class" else pa.array(parsed, type=ARROW_TYPE.get(target.kind))
    replacement = pa.array(parsed, type=fast.type)
    return pc.replace_with_mask(fast, pa.array(suspect), replacement)


def _reason(column: str, exc: Exception, source: Callable[[int], Any], i: int) -> str:
    from monitor.ingest.values import Bad, show

    if isinstance(exc, Bad):
        return f"column {column!r}: {exc}"
    try:
        shown = show(source(i))
    except Exception:  # noqa: BLE001 - the value itself cannot be read (e.g. invalid UTF-8 in Parquet)
        shown = "the value"
    return f"column {column!r}: cannot interpret {shown} ({type(exc).__name__}: {exc})"
