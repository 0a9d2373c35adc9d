"""One streaming tick: read the prediction segments written since the last tick, feed each
model's detectors, raise streaming alerts and plan their notifications.

Why a cursor over the ``log_segments`` table and not a message per ingested batch: rows come in
through three front doors (``modelwatch ingest``, ``POST /v1/models/{name}/predictions`` and
``monitor.client.Client``, which lives in the domain and must not publish tasks). Reading segments
by autoincrement id reaches all three at once, and a row is never lost to a publish that failed
after its insert committed: the cursor only moves past segments the tick has read (docs:
"Real-time alerts"). A row's id is ``segment id * ROWS_PER_ID + position`` (``monitor.logstore``).

Autoincrement ids are handed out at insert but become visible at commit, so on PostgreSQL segment
10 can appear after segment 11 was read. Ids skipped below the newest one read are kept as *gaps*
and re-read for ``gap_ttl`` seconds (an id may also never appear: a rolled-back batch).

The tick first *claims* the cursor row with a conditional UPDATE of its revision: a second tick
running at the same moment (two workers on the ``ingest`` queue) finds the revision moved, does
nothing, and no row is fed twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.alerts import notify
from monitor.alerts.policy import OPEN_STATES
from monitor import events
from monitor.db.schema import Alert, LogSegment, Model, StreamState, utcnow
from monitor.logstore import ROWS_PER_ID, LostSegment, read_segment
from monitor.spec import ModelSpec
from monitor.store import models as store_models
from monitor.store.common import for_update
from monitor.stream.detectors import ModelStream, StreamFinding

log = logging.getLogger(__name__)

CURSOR = "cursor"
#: Most skipped ids remembered at once (oldest forgotten first).
MAX_GAPS = 2000
#: A fresh cursor starts after rows older than this, so switching streaming on does not replay history.
BACKFILL = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class StreamTick:
    """What the notification planner reads of a run, for a streaming alarm (no check run exists)."""

    id: str
    model_id: int
    version: str | None
    window_start: dt.datetime
    window_end: dt.datetime


@dataclass
class TickResult:
    claimed: bool
    rows: int = 0
    cursor: int = 0
    fired: list[int] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)


def model_key(model_id: int) -> str:
    return f"model:{model_id}"


def _insert_ignoring(session: Session, row: dict[str, Any]) -> None:
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(module.insert(StreamState).values(**row).on_conflict_do_nothing())


def _claim(session: Session) -> StreamState | None:
    """The cursor row, its revision bumped by this transaction; None when another tick holds it."""
    cursor = session.get(StreamState, CURSOR)
    if cursor is None:
        start = session.scalar(select(func.max(LogSegment.id)).where(LogSegment.kind == "predictions",
                                                                  LogSegment.created_at < utcnow() - BACKFILL))
        _insert_ignoring(session, {"key": CURSOR, "model_id": None, "revision": 0,
                                   "state": {"cursor": start or 0, "gaps": {}}, "updated_at": utcnow()})
        cursor = session.get(StreamState, CURSOR)
    revision = cursor.revision
    claimed = session.execute(update(StreamState).where(StreamState.key == CURSOR, StreamState.revision == revision)
                              .values(revision=revision + 1, updated_at=utcnow()).execution_options(
                                  synchronize_session=False))
    if claimed.rowcount != 1:
        return None
    session.refresh(cursor)
    return cursor


def _nothing_new(session: Session) -> bool:
    """A read-only look first: an idle tick must not take SQLite's write lock every second."""
    cursor = session.get(StreamState, CURSOR)
    if cursor is None or (cursor.state or {}).get("gaps"):
        return False
    newer = select(LogSegment.id).where(LogSegment.kind == "predictions",
                                        LogSegment.id > int(cursor.state.get("cursor", 0))).limit(1)
    return session.scalar(newer) is None


@dataclass(frozen=True)
class _Row:
    """A prediction row as the detectors read it (``StreamRow``'s fields) and its model."""

    id: int
    model_id: int
    ts: dt.datetime | None
    version: str | None
    score: float | None
    latency_ms: float | None
    status: str | None


def _new_segments(session: Session, cursor: int, gaps: dict[str, float], limit: int) -> list[LogSegment]:
    """Segments after the cursor, in id order, up to about ``limit`` rows (at least one), and the
    gap segments that committed since."""
    fresh = list(session.scalars(select(LogSegment).where(LogSegment.kind == "predictions", LogSegment.id > cursor)
                                 .order_by(LogSegment.id).limit(limit)))
    taken, rows = [], 0
    for segment in fresh:
        if taken and rows + segment.rows > limit:
            break
        taken.append(segment)
        rows += segment.rows
    if gaps:
        late = session.scalars(select(LogSegment).where(LogSegment.kind == "predictions",
                                                        LogSegment.id.in_([int(g) for g in gaps])))
        taken = [*sorted(late, key=lambda s: s.id), *taken]
    return taken


def _rows_of(segment: LogSegment) -> list[_Row]:
    """The segment's rows; a lost file is logged and skipped (the stream is advisory; the check
    that reads the same segment fails with the reason)."""
    try:
        table = read_segment(segment.id, segment.location, segment.checksum, segment.bytes,
                             ["ts", "version", "score", "latency_ms", "status"])
    except LostSegment as exc:
        log.error("streaming skips %s", exc)
        return []
    columns = {name: table[name].to_pylist() if name in table.column_names else [None] * len(table)
               for name in ("ts", "version", "score", "latency_ms", "status")}
    base = segment.id * ROWS_PER_ID
    return [_Row(base + i, segment.model_id, *values) for i, values in enumerate(zip(
        columns["ts"], columns["version"], columns["score"], columns["latency_ms"], columns["status"]))]


def _next_gaps(gaps: dict[str, float], cursor: int, rows: list[Any], now: float, ttl: float) -> dict[str, float]:
    """Segment ids still missing below the newest segment read, with when they were first missed."""
    seen = {row.id for row in rows}
    kept = {g: at for g, at in gaps.items() if int(g) not in seen and now - at < ttl}
    newest = max((row.id for row in rows if row.id > cursor), default=cursor)
    for missing in range(cursor + 1, newest):
        if missing not in seen and len(kept) < MAX_GAPS + 100:
            kept.setdefault(str(missing), now)
    if len(kept) > MAX_GAPS:
        kept = dict(sorted(kept.items(), key=lambda item: int(item[0]))[-MAX_GAPS:])
    return kept


def run_tick(session: Session, *, chunk_rows: int, batch_limit: int, gap_ttl: float, public_url: str) -> TickResult:
    """Read new rows, feed the detectors, raise alerts; all in the caller's transaction."""
    if _nothing_new(session):
        return TickResult(claimed=False)
    cursor_row = _claim(session)
    if cursor_row is None:
        return TickResult(claimed=False)
    state = dict(cursor_row.state)
    cursor, gaps = int(state.get("cursor", 0)), dict(state.get("gaps") or {})
    segments = _new_segments(session, cursor, gaps, batch_limit)
    rows = [row for segment in segments for row in _rows_of(segment)]
    result = TickResult(claimed=True, rows=len(rows), cursor=cursor)
    by_model: dict[int, list[Any]] = {}
    for row in rows:
        by_model.setdefault(row.model_id, []).append(row)
    for model_id, model_rows in by_model.items():
        fired, notifications = _feed_model(session, model_id, model_rows, chunk_rows, public_url)
        result.fired += fired
        result.notifications += notifications
    result.cursor = max([cursor, *(segment.id for segment in segments)])
    cursor_row.state = {"cursor": result.cursor, "gaps": _next_gaps(gaps, cursor, segments, time.time(), gap_ttl)}
    session.flush()
    return result


def load_stream(session: Session, model_id: int, chunk_rows: int) -> tuple[StreamState, ModelStream]:
    key = model_key(model_id)
    saved = session.scalar(for_update(select(StreamState).where(StreamState.key == key), session))
    if saved is None:
        _insert_ignoring(session, {"key": key, "model_id": model_id, "revision": 0, "state": {},
                                   "updated_at": utcnow()})
        saved = session.get(StreamState, key)
    return saved, ModelStream(saved.state or None, chunk_rows=chunk_rows)


def _feed_model(session: Session, model_id: int, rows: list[Any], chunk_rows: int,
                public_url: str) -> tuple[list[int], list[int]]:
    saved, stream = load_stream(session, model_id, chunk_rows)
    findings = stream.feed(rows)  # result rows carry StreamRow's fields by name
    saved.state = stream.state
    saved.revision += 1
    model = session.get(Model, model_id)
    if not findings or model is None or model.status != "active":
        return [], []
    spec = store_models.spec_of(model)
    latest = max((r.ts for r in rows if r.ts is not None), default=utcnow())
    tick = StreamTick(id=f"s{model_id}-{findings[-1].last_id}", model_id=model_id, version=rows[-1].version,
                      window_start=min((r.ts for r in rows if r.ts is not None), default=latest), window_end=latest)
    fired = [alert_id for f in findings if (alert_id := _raise(session, tick, spec, f)) is not None]
    if not fired:
        return [], []
    url = f"{public_url.rstrip('/')}/v1/models/{spec.name}"
    return fired, notify.plan(session, tick, spec, [], url, only=fired, tag="stream")  # type: ignore[arg-type]


def _raise(session: Session, tick: StreamTick, spec: ModelSpec, finding: StreamFinding) -> int | None:
    """Open a streaming alert for ``finding``; an alert of that rule already open just records it."""
    now = utcnow()
    statement = select(Alert).where(Alert.model_id == tick.model_id, Alert.rule == finding.rule,
                                    Alert.segment == "", Alert.state.in_(OPEN_STATES))
    alert = session.scalar(for_update(statement, session))
    if alert is not None:
        alert.value, alert.last_seen = finding.value, now
        return None
    severity = spec.alerting.severity_for(finding.rule, "streaming", finding.severity)
    alert = Alert(model_id=tick.model_id, rule=finding.rule, kind="streaming", segment="", state="firing",
                  severity=severity, message=finding.message, value=finding.value, baseline=finding.baseline,
                  clean_checks=0, first_run_id=tick.id, last_run_id=tick.id, last_window_end=tick.window_end,
                  first_seen=now, last_seen=now)
    session.add(alert)
    session.flush()
    events.alert_event(session, "alert.fired", alert, source="streaming")  # the dashboard sees it at once
    return alert.id


def open_streaming_alerts(session: Session, model_id: int) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.model_id == model_id, Alert.kind == "streaming",
                                                    Alert.state.in_(OPEN_STATES)).order_by(Alert.id)))


def alarms_of(session: Session, model_id: int) -> dict[str, dict[str, Any]]:
    saved = session.get(StreamState, model_key(model_id))
    return dict((saved.state or {}).get("alarms") or {}) if saved else {}


__all__ = ["StreamTick", "TickResult", "alarms_of", "open_streaming_alerts", "run_tick"]
