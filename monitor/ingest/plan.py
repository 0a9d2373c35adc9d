"""The field plan: which source column feeds which normalised key, with which parser.

The spec names the columns (``columns.id``, ``columns.timestamp``, ...); the plan turns a kind
("predictions", "labels", "interactions") and a spec into ``[(key, column, parser, required)]``
plus the feature parsers, so validation is one loop over the plan whatever the kind. The bounds
that depend on the database (column widths) or on the clock (no timestamps more than a day
ahead) live here, in the parsers the plan builds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import numpy as np

from monitor.ingest.values import (
    UTC, Bad, aware, parse_class, parse_float, parse_id, parse_regression, parse_text, parse_ts, show,
)
from monitor.spec import ModelSpec

KINDS = ("predictions", "labels", "interactions")

FUTURE_TOLERANCE = dt.timedelta(days=1)
MAX_LEN = {"request_id": 128, "version": 64, "status": 32, "event": 32}  # the database column widths


def required_columns(kind: str, spec: ModelSpec) -> list[str]:
    columns = spec.columns
    if kind == "predictions":
        return [columns.id, columns.timestamp, columns.prediction]
    if kind == "interactions":
        return [columns.id, spec.interactions.event_column, columns.timestamp]
    return [columns.id, columns.label]


def relevant_columns(kind: str, spec: ModelSpec) -> list[str]:
    columns = spec.columns
    if kind == "predictions":
        names = [columns.id, columns.timestamp, columns.version, columns.prediction, columns.score,
                 columns.latency_ms, columns.status, *columns.numeric, *columns.categorical]
    elif kind == "interactions":
        names = [columns.id, spec.interactions.event_column, spec.interactions.value_column, columns.timestamp]
    else:
        names = [columns.id, columns.label, columns.timestamp]
    return list(dict.fromkeys(n for n in names if n))


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def field_plan(kind: str, spec: ModelSpec, now: dt.datetime | None):
    """[(output key, source column, parser, required)] and [(feature name, parser)]."""
    now = aware(now) if now is not None else dt.datetime.now(UTC)
    limit = now + FUTURE_TOLERANCE
    columns = spec.columns
    classification = spec.task.is_classification
    scalar = parse_class if classification else parse_regression

    def request_id(value: Any) -> str | None:
        parsed = parse_id(value)
        if parsed is not None and len(parsed) > MAX_LEN["request_id"]:
            raise Bad(f"request id longer than {MAX_LEN['request_id']} characters")
        return parsed

    def timestamp(value: Any) -> dt.datetime | None:
        parsed = parse_ts(value)
        if parsed is not None and parsed > limit:
            hint = ""
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and abs(value) > 1e11:
                hint = " (epoch milliseconds? expected seconds)"
            raise Bad(
                f"timestamp {parsed.isoformat()} is more than 1 day in the future "
                f"(now {now.replace(microsecond=0).isoformat()}){hint}"
            )
        return parsed

    def score(value: Any) -> float | None:
        parsed = parse_float(value)
        if parsed is not None and classification and not 0.0 <= parsed <= 1.0:
            raise Bad(f"score {parsed!r} is outside [0, 1]")
        return parsed

    def latency(value: Any) -> float | None:
        parsed = parse_float(value)
        if parsed is not None and parsed < 0:
            raise Bad(f"latency {parsed!r} is negative")
        return parsed

    def bounded_text(key: str) -> Callable[[Any], str | None]:
        def parse(value: Any) -> str | None:
            parsed = parse_text(value)
            if parsed is not None and not parsed.strip():
                return None
            if parsed is not None and len(parsed) > MAX_LEN[key]:
                raise Bad(f"{key} longer than {MAX_LEN[key]} characters")
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
        features = [(name, parse_float) for name in columns.numeric]
        features += [(name, parse_text) for name in columns.categorical]
    elif kind == "interactions":
        fields = [
            ("request_id", columns.id, request_id, True),
            ("event", spec.interactions.event_column, _event_parser(spec), True),
            ("value", spec.interactions.value_column, parse_float, False),
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
        parsed = parse_text(value)
        if parsed is None or not parsed.strip():
            return None
        name = parsed.strip().lower()
        if name not in known:
            raise Bad(f"unknown event {show(parsed)}; expected one of {events.known} "
                       "(interactions.events in the model spec says which names count as what)")
        return name

    return parse
