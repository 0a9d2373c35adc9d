"""The audit trail: who decided what, when and why.

Every decision that changes what the service does about a model is recorded here, by whoever
makes it: a person through the CLI (``cli:<os user>``), an API token (``token:<name>``), or the
service itself (``system``). Record inside the same session as the decision, so a decision and
its audit row commit together or not at all.

Actions in use: ``acknowledge``, ``silence``, ``unsilence``, ``approve``, ``cancel``,
``rollback``, ``promote``, ``retrain``, ``register``.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.db.schema import AuditEvent, utcnow

SYSTEM = "system"


def cli_actor(settings: Settings | None = None) -> str:
    """The person behind a CLI command: ``MODELWATCH_ACTOR`` (:attr:`Settings.actor`) if set, else
    the OS user.

    Without ``settings`` the environment is read now, through a fresh :class:`Settings`, not the
    process-wide cached one: who runs a command belongs to that command.
    """
    name = (settings or Settings()).actor
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            name = f"uid{os.getuid()}"
    return f"cli:{name}"


def record(session: Session, *, actor: str, action: str, subject: str, reason: str = "",
           model_id: int | None = None, details: dict[str, Any] | None = None) -> AuditEvent:
    """Add one audit row to ``session`` (committed with the caller's decision)."""
    event = AuditEvent(at=utcnow(), actor=actor[:128], action=action[:32], model_id=model_id,
                       subject=subject[:128], reason=reason or "", details=details or {})
    session.add(event)
    session.flush()
    return event


def events(session: Session, model_id: int | None = None, limit: int = 200) -> list[AuditEvent]:
    """Newest first; one model's, or everything (including events about no model)."""
    statement = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if model_id is not None:
        statement = statement.where(AuditEvent.model_id == model_id)
    return list(session.scalars(statement))


def to_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at.isoformat(), "actor": event.actor, "action": event.action,
            "model_id": event.model_id, "subject": event.subject, "reason": event.reason,
            "details": event.details}
