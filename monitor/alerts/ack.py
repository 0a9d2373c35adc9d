"""Acknowledging an alert: a person says "I have this". The alert stays open (it still resolves
on its own after enough clean checks, and still blocks a second alert of the same rule) but its
repeat notifications stop. Recorded in the audit trail as ``acknowledge``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import audit, events
from monitor.alerts.policy import OPEN_STATES
from monitor.alerts.delivery import attempts_of, notifications_of_alert
from monitor.db.schema import Alert, Model, utcnow
from monitor.errors import Conflict, NotFound
from monitor.store.common import for_update


def acknowledge(session: Session, alert_id: int, *, actor: str, reason: str = "") -> Alert:
    """``firing -> acknowledged``; acknowledging an acknowledged alert again changes nothing."""
    alert = session.scalar(for_update(select(Alert).where(Alert.id == alert_id), session))
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    if alert.state == "acknowledged":
        return alert
    if alert.state != "firing":
        raise Conflict(f"alert {alert_id} is {alert.state}; only a firing alert can be acknowledged")
    alert.state, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", utcnow(), actor
    audit.record(session, actor=actor, action="acknowledge", subject=f"alert:{alert_id}", reason=reason,
                 model_id=alert.model_id, details={"rule": alert.rule, "segment": alert.segment})
    session.flush()
    events.alert_event(session, "alert.acknowledged", alert, actor=actor)
    return alert


def to_json(session: Session, alert: Alert, *, with_attempts: bool = False) -> dict[str, Any]:
    """An alert as the CLI's ``--json`` and the API return it, with how each channel was told."""
    model = session.scalar(select(Model.name).where(Model.id == alert.model_id))
    notifications = []
    for n, transition in notifications_of_alert(session, alert.id):
        entry = {"id": n.id, "channel": n.channel, "transition": transition, "state": n.state,
                 "attempts": n.attempts, "error": n.last_error, "run_id": n.run_id,
                 "created_at": n.created_at.isoformat(), "sent_at": n.sent_at.isoformat() if n.sent_at else None}
        if with_attempts:
            entry["delivery_attempts"] = [
                {"attempt": a.attempt, "outcome": a.outcome, "started_at": a.started_at.isoformat(),
                 "ended_at": a.ended_at.isoformat() if a.ended_at else None, "error": a.error,
                 "http_status": a.http_status} for a in attempts_of(session, n.id)]
        notifications.append(entry)
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    return {"id": alert.id, "model": model, "rule": alert.rule, "kind": alert.kind, "segment": alert.segment,
            "state": alert.state, "open": alert.state in OPEN_STATES, "severity": alert.severity,
            "message": alert.message, "value": alert.value, "baseline": alert.baseline,
            "clean_checks": alert.clean_checks, "first_seen": iso(alert.first_seen), "last_seen": iso(alert.last_seen),
            "resolved_at": iso(alert.resolved_at), "acknowledged_at": iso(alert.acknowledged_at),
            "acknowledged_by": alert.acknowledged_by, "notifications": notifications}
