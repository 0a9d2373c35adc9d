"""Audit-trail reads by subject: "who acknowledged alert 12, and when?".

``monitor.audit.events`` lists a model's trail newest first; the dashboard also needs the latest
decision of one kind about each of many subjects (every alert on a page), in one query.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.schema import AuditEvent


def latest_decisions(session: Session, action: str, subjects: list[str]) -> dict[str, AuditEvent]:
    """The newest ``action`` event for each subject that has one (e.g. ``alert:12`` -> acknowledge)."""
    if not subjects:
        return {}
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject.in_(subjects))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return {event.subject: event for event in rows}  # later rows overwrite earlier ones
