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

from monitor.ingest.columns import Target
from monitor.ingest.values import (
    UTC, Bad, aware, parse_class, parse_float, parse_id, parse_regression, parse_text, parse_ts, show,
)
from monitor.spec import ModelSpec

KINDS = ("predictions", "labels", "interactions")

FUTURE_TOLERANCE = dt.timedelta(days=1)
# The database column widths; a categorical feature value is capped too, so a 10 MB field is one
# quarantined row rather than a 10 MB category in every later report.
MAX_LEN = {"request_id": 128, "version": 64, "status": 32, "event": 32, "category": 256}


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
    """[(output key, source column, parser, required, target)] and [(feature name, parser, target)].

    The parser decides one cell (and words the reason); the :class:`Target` tells the vectorised
    converter of :mod:`monitor.ingest.columns` what the plainly good cells look like."""
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

    def category(value: Any) -> str | None:
        parsed = parse_text(value)
        if parsed is not None and len(parsed) > MAX_LEN["category"]:
            raise Bad(f"categorical value longer than {MAX_LEN['category']} characters")
        return parsed

    ident = Target("id", cap=MAX_LEN["request_id"])
    moment = Target("ts", limit=limit)
    number = Target("float")
    outcome = Target("class") if classification else Target("float", regression=True)

    def text(key: str) -> Target:
        return Target("text", cap=MAX_LEN[key], blank_is_null=True)

    if kind == "predictions":
        fields = [
            ("request_id", columns.id, request_id, True, ident),
            ("ts", columns.timestamp, timestamp, True, moment),
            ("version", columns.version, bounded_text("version"), False, text("version")),
            ("prediction", columns.prediction, scalar, True, outcome),
            ("score", columns.score, score, False,
             Target("float", low=0.0, high=1.0) if classification else number),
            ("latency_ms", columns.latency_ms, latency, False, Target("float", low=0.0)),
            ("status", columns.status, bounded_text("status"), False, text("status")),
        ]
        features = [(name, parse_float, number) for name in columns.numeric]
        features += [(name, category, Target("text", cap=MAX_LEN["category"])) for name in columns.categorical]
    elif kind == "interactions":
        fields = [
            ("request_id", columns.id, request_id, True, ident),
            ("event", spec.interactions.event_column, _event_parser(spec), True, Target("any")),
            ("value", spec.interactions.value_column, parse_float, False, number),
            ("ts", columns.timestamp, timestamp, True, moment),
        ]
        features = []
    else:
        fields = [
            ("request_id", columns.id, request_id, True, ident),
            ("label", columns.label, scalar, True, outcome),
            ("ts", columns.timestamp, timestamp, False, moment),
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
