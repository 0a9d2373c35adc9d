"""Silences: hold notifications of matching alerts until an end time, with who and why.

A silence matches an alert when every matcher it sets equals the alert's (``model`` name,
``rule`` - the rule name or its finding kind - and ``severity``) and now is within
``[starts_at, ends_at)``. A silenced alert keeps its lifecycle (it fires, it resolves); only its
notifications are held. Once the silence ends, the next check notifies the alerts still open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.alerts.policy import SEVERITIES
from monitor.db.schema import Alert, Model, Silence, utcnow
from monitor.durations import parse_duration
from monitor.errors import ConfigError, NotFound


def matches(silence: Silence, model: str, alert: Alert, now: dt.datetime) -> bool:
    return (silence.starts_at <= now < silence.ends_at
            and silence.model in (None, model)
            and silence.rule in (None, alert.rule, alert.kind)
            and silence.severity in (None, alert.severity))


def active(session: Session, now: dt.datetime | None = None) -> list[Silence]:
    now = now or utcnow()
    return list(session.scalars(select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)
                                .order_by(Silence.id)))


def silencing(silences: list[Silence], model: str, alert: Alert, now: dt.datetime) -> Silence | None:
    """The first of ``silences`` that holds this alert's notifications, if any."""
    return next((s for s in silences if matches(s, model, alert, now)), None)


def end_time(duration: str | float | None, until: dt.datetime | str | None, now: dt.datetime) -> dt.datetime:
    """``duration`` ('2h') from now, or ``until`` (an aware datetime or ISO-8601); exactly one."""
    if (duration is None) == (until is None):
        raise ConfigError("give exactly one of a duration (e.g. '2h') or an end time")
    if duration is not None:
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            raise ConfigError(f"silence duration: {exc}") from None
        if seconds <= 0:
            raise ConfigError(f"silence duration must be positive, got {duration!r}")
        return now + dt.timedelta(seconds=seconds)
    if isinstance(until, str):
        try:
            until = dt.datetime.fromisoformat(until)
        except ValueError:
            raise ConfigError(f"end time {until!r} is not ISO-8601 (e.g. 2026-11-23T18:00:00Z)") from None
    if until.tzinfo is None:
        raise ConfigError(f"end time {until.isoformat()} has no time zone; add Z or +00:00")
    if until <= now:
        raise ConfigError(f"end time {until.isoformat()} is not in the future")
    return until


def create(session: Session, *, actor: str, comment: str, model: str | None = None, rule: str | None = None,
           severity: str | None = None, duration: str | float | None = None,
           until: dt.datetime | str | None = None) -> Silence:
    """Add a silence and its audit row (action ``silence``) in ``session``."""
    if not (model or rule or severity):
        raise ConfigError("a silence needs at least one matcher: model, rule or severity")
    if severity is not None and severity not in SEVERITIES:
        raise ConfigError(f"severity {severity!r} is not one of {list(SEVERITIES)}")
    if not comment or not comment.strip():
        raise ConfigError("a silence needs a comment saying why")
    model_id = None
    if model is not None:
        from monitor.store import models as store

        model_id = store.get_model(session, model).id  # NotFound names an unknown model
    now = utcnow()
    silence = Silence(model=model, rule=rule, severity=severity, starts_at=now, ends_at=end_time(duration, until, now),
                      comment=comment.strip(), created_by=actor, created_at=now)
    session.add(silence)
    session.flush()
    audit.record(session, actor=actor, action="silence", subject=f"silence:{silence.id}", reason=silence.comment,
                 model_id=model_id, details=to_json(silence))
    return silence


def expire(session: Session, silence_id: int, *, actor: str, reason: str = "") -> Silence:
    """End a silence now (it stays listed as history); audited as ``unsilence``."""
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise NotFound(f"no silence {silence_id}")
    now = utcnow()
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at)
    model_id = session.scalar(select(Model.id).where(Model.name == silence.model)) if silence.model else None
    audit.record(session, actor=actor, action="unsilence", subject=f"silence:{silence.id}", reason=reason,
                 model_id=model_id, details=to_json(silence))
    return silence


def list_silences(session: Session, include_expired: bool = False, limit: int = 200) -> list[Silence]:
    statement = select(Silence).order_by(Silence.id.desc()).limit(limit)
    if not include_expired:
        statement = statement.where(Silence.ends_at > utcnow())
    return list(session.scalars(statement))


def to_json(silence: Silence) -> dict[str, Any]:
    return {"id": silence.id, "model": silence.model, "rule": silence.rule, "severity": silence.severity,
            "starts_at": silence.starts_at.isoformat(), "ends_at": silence.ends_at.isoformat(),
            "comment": silence.comment, "created_by": silence.created_by,
            "active": silence.starts_at <= utcnow() < silence.ends_at}
