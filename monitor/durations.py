"""Durations as people write them in specs: ``30s``, ``5m``, ``1h``, ``2d`` (or plain seconds)."""

from __future__ import annotations

import math
import re

#: The longest duration anything in modelwatch means (a window, a retention, a silence): ten
#: years. A longer one cannot be meant, and far longer ones overflow datetime arithmetic
#: (``now - 99999999999999999999d``) or the database; they are refused where they are read.
MAX_SECONDS = 10 * 365 * 86400
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``, at most :data:`MAX_SECONDS`.

    >>> parse_duration("5m"), parse_duration("1.5h"), parse_duration(30)
    (300.0, 5400.0, 30.0)
    >>> parse_duration("99999999999999999999d")
    Traceback (most recent call last):
    ...
    ValueError: '99999999999999999999d' is longer than 10 years (3650d), the longest duration allowed
    """
    seconds = _seconds(value)
    if seconds > MAX_SECONDS:
        raise ValueError(f"{str(value)[:40]!r} is longer than 10 years ({format_duration(MAX_SECONDS)}), "
                         "the longest duration allowed")
    return seconds


def _seconds(value: str | int | float) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration like '30s', '5m', '1h' or '2d', got a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"a duration must be a finite number of seconds, got {value}")
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value}")
        return float(value)
    match = _PATTERN.match(str(value))
    if not match:
        raise ValueError(f"expected a duration like '30s', '5m', '1h' or '2d', got {value!r}")
    number, unit = match.groups()
    return float(number) * _UNITS[unit or "s"]


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: ``format_duration(5400) == '90m'``."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"
