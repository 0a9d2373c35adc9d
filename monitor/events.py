"""The event outbox: what changed, for the live dashboard (``GET /v1/events``).

A change and its event commit together: :func:`record` adds the event row to the caller's
session, so an event exists if and only if the change it announces committed, and the table is
the truth a reconnecting client resumes from (its id is the SSE ``Last-Event-ID``).

After the commit, the process also publishes a tiny notice on the Redis channel
:data:`CHANNEL` when the broker is Redis, so an API process blocked on the stream wakes at once
instead of at its next poll. The notice carries only the new ids: losing one costs latency
(the API polls the table anyway), never an event.

Types and their payload fields (besides ``model``)::

    run.finished           run_id, version, status, trigger
    alert.fired            alert_id, rule, kind, severity, segment
    alert.acknowledged     alert_id, rule, kind, severity, segment, actor
    alert.resolved         alert_id, rule, kind, severity, segment
    recovery.scheduled     action_id, kind, state, eta, alert_id
    recovery.approved      action_id, kind, actor, eta
    recovery.cancelled     action_id, kind, state (cancelled or expired), reason
    recovery.ran           action_id, kind, ok, summary
    recovery.verified      action_id, kind, outcome

Events older than :data:`RETENTION` are pruned now and then by :func:`record` itself (one
indexed delete every :data:`PRUNE_EVERY` events), so no extra schedule is needed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import delete, event as sa_event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from monitor.db.schema import Alert, CheckRun, Event, Model, RecoveryAction, utcnow

logger = logging.getLogger(__name__)

TYPES = frozenset({
    "run.finished",
    "alert.fired", "alert.acknowledged", "alert.resolved",
    "recovery.scheduled", "recovery.approved", "recovery.cancelled", "recovery.ran", "recovery.verified",
})
RESERVED = frozenset({"id", "type", "at", "model"})
CHANNEL = "modelwatch:events"
RETENTION = dt.timedelta(days=7)
PRUNE_EVERY = 256
_PENDING, _HOOKED = "modelwatch_events_pending", "modelwatch_events_hooked"


def record(session: Session, type: str, model: str | None, **payload: Any) -> Event:
    """Add one event to ``session``; it commits (and is announced) with the caller's change.

    >>> record(session, "alert.fired", "fraud", alert_id=7, rule="recall_drop",  # doctest: +SKIP
    ...        kind="performance_drop", severity="critical", segment="")
    """
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}; expected one of {sorted(TYPES)}")
    if clash := RESERVED & payload.keys():
        raise ValueError(f"event {type}: payload field(s) {sorted(clash)} are the envelope's own")
    row = Event(at=utcnow(), type=type, model=model, payload=json.loads(json.dumps(payload, default=_plain)))
    session.add(row)
    session.flush()
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        sa_event.listen(session, "after_commit", _announce)
        sa_event.listen(session, "after_rollback", _forget)
    session.info.setdefault(_PENDING, []).append(row.id)
    if row.id % PRUNE_EVERY == 0:
        prune(session)
    return row


def _plain(value: Any) -> str:
    """JSON for what ``json`` does not know: datetimes as ISO-8601, anything else as its text."""
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else str(value)


def alert_event(session: Session, type: str, alert: Alert, **extra: Any) -> Event:
    """``alert.*`` with the alert's identifying fields."""
    return record(session, type, model_name(session, alert.model_id), alert_id=alert.id, rule=alert.rule,
                  kind=alert.kind, severity=alert.severity, segment=alert.segment, **extra)


def run_finished(session: Session, run: CheckRun) -> Event:
    """``run.finished`` for a run that just succeeded or failed."""
    return record(session, "run.finished", model_name(session, run.model_id), run_id=run.id, version=run.version,
                  status=run.status, trigger=run.trigger)


def action_event(session: Session, type: str, action_id: int, **extra: Any) -> Event:
    """``recovery.*`` for one recovery action (loaded from the session, usually its identity map)."""
    action = session.get(RecoveryAction, action_id)
    if action is None:
        raise ValueError(f"{type}: no recovery action {action_id}")
    return record(session, type, model_name(session, action.model_id), action_id=action.id, kind=action.kind,
                  **extra)


def model_name(session: Session, model_id: int | None) -> str | None:
    """The name the stream filters on (events outlive ids in a reader's mind, names are what it knows).

    From the session when it holds the model's row already (a check stage's ``lock_run`` reads it
    with the run), else one small SELECT."""
    if model_id is None:
        return None
    loaded = session.identity_map.get(identity_key(Model, model_id))
    if loaded is not None:
        return loaded.name
    return session.scalar(select(Model.name).where(Model.id == model_id))


def prune(session: Session, older_than: dt.timedelta = RETENTION) -> int:
    """Delete events older than ``older_than``; returns how many."""
    return session.execute(delete(Event).where(Event.at < utcnow() - older_than)).rowcount or 0


def after(session: Session, cursor: int, *, model: str | None = None, limit: int = 500) -> list[Event]:
    """Events with an id above ``cursor``, oldest first (the stream's next page)."""
    statement = select(Event).where(Event.id > cursor).order_by(Event.id).limit(limit)
    if model is not None:
        statement = statement.where(Event.model == model)
    return list(session.scalars(statement))


def recent(session: Session, *, model: str | None = None, limit: int = 50) -> list[Event]:
    """The newest ``limit`` events, oldest first (a page's first paint)."""
    statement = select(Event).order_by(Event.id.desc()).limit(limit)
    if model is not None:
        statement = statement.where(Event.model == model)
    return list(reversed(list(session.scalars(statement))))


def last_id(session: Session) -> int:
    """The newest event id, or 0: where a fresh stream with no cursor starts."""
    return session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def to_json(row: Event) -> dict[str, Any]:
    """The wire form: ``{id, type, at, model, **payload}``; ``at`` is ISO-8601 UTC."""
    return {"id": row.id, "type": row.type, "at": row.at.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "model": row.model, **(row.payload or {})}


# --- wake-up notices ------------------------------------------------------------------------------

_UNSET = object()
_publisher: Any = _UNSET


def use_publisher(publish: Any) -> None:
    """Install ``publish(channel, message)`` for after-commit notices (None turns them off).

    Until something is installed, the first notice configures itself from the process's
    settings (:func:`configure` with ``MODELWATCH_BROKER_URL``), so the worker, the CLI and the
    API all announce without wiring; tests install a recorder.
    """
    global _publisher
    _publisher = publish


def configure(broker_url: str, sentinel_master: str = "mymaster") -> None:
    """Publish notices on the broker's Redis when it is Redis (through Sentinel's current primary
    for ``sentinel://``); nothing on the embedded broker."""
    if not broker_url.startswith(("redis://", "rediss://", "sentinel://")):
        use_publisher(None)
        return
    from monitor import redis_clients

    client = redis_clients.client(broker_url, sentinel_master, socket_connect_timeout=1, socket_timeout=1)
    use_publisher(client.publish)


def _announce(session: Session) -> None:
    ids = session.info.pop(_PENDING, None)
    if ids and _publisher is _UNSET:
        from monitor.config import get_settings

        configure(get_settings().effective_broker_url, get_settings().sentinel_master)
    if not ids or _publisher is None:
        return
    try:
        _publisher(CHANNEL, json.dumps({"ids": ids}))
    except Exception as exc:  # noqa: BLE001 - a lost wake-up only delays readers until their next poll
        logger.warning("could not publish event notice %s on %s (%s); readers will poll", ids, CHANNEL, exc)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
