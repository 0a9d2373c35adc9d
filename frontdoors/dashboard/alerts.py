"""What the dashboard's alerts page reads, as JSON: every open alert with who acknowledged it, when
and why (from the audit trail), and recently resolved ones; and who is signed in.

The overview reads ``GET /v1/fleet`` and ``GET /v1/fleet/alerts`` (frontdoors/api/routes/fleet.py).
Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import OPEN_STATES, list_alerts
from monitor.db.schema import Alert, AuditEvent
from monitor.store import models as store_models
from monitor.store.decisions import latest_decisions


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def acknowledgements(session: Session, alerts: list[Alert]) -> dict[int, AuditEvent]:
    """Alert id -> its latest ``acknowledge`` audit event (subject ``alert:<id>``)."""
    found = latest_decisions(session, "acknowledge", [f"alert:{a.id}" for a in alerts])
    return {a.id: found[f"alert:{a.id}"] for a in alerts if f"alert:{a.id}" in found}


def session_info(principal, auth_on: bool, version: str) -> dict[str, Any]:
    return {"auth": auth_on, "actor": principal.actor, "can_write": principal.can_write, "version": version}


def alert_json(alert: Alert, model: str, ack) -> dict[str, Any]:
    return {"id": alert.id, "model": model, "rule": alert.rule, "kind": alert.kind, "segment": alert.segment,
            "state": alert.state, "open": alert.state in OPEN_STATES, "severity": alert.severity,
            "message": alert.message, "value": alert.value, "baseline": alert.baseline,
            "first_seen": iso(alert.first_seen), "last_seen": iso(alert.last_seen),
            "resolved_at": iso(alert.resolved_at),
            "ack": {"actor": ack.actor, "at": iso(ack.at), "reason": ack.reason} if ack else
            ({"actor": alert.acknowledged_by, "at": iso(alert.acknowledged_at), "reason": ""}
             if alert.acknowledged_at else None)}


def alerts_page(session: Session, recent: int = 50) -> dict[str, Any]:
    """Open alerts of every model (critical first, oldest first) with who acknowledged them, then
    recently resolved ones. (The groups by cause are ``GET /v1/fleet/alerts``.)"""
    names = {m.id: m.name for m in store_models.list_models(session)}
    firing = sorted(list_alerts(session, open_only=True, limit=1000),
                    key=lambda a: (a.severity != "critical", a.first_seen))
    closed = [a for a in list_alerts(session, limit=recent * 2) if a.state not in OPEN_STATES][:recent]
    acks = acknowledgements(session, [*firing, *closed])
    row = lambda a: alert_json(a, names.get(a.model_id, f"#{a.model_id}"), acks.get(a.id))  # noqa: E731
    return {"open": [row(a) for a in firing], "recent": [row(a) for a in closed]}
