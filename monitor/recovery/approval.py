"""A person's say over recovery: approve an action that waits for it, and let unapproved ones expire.

An action whose policy says ``approval: true`` (or that a failed recovery put on hold) is created
``pending_approval`` with a deadline (``expires_at``). Approving it moves it to ``scheduled`` in
one conditional UPDATE (so two approvals, or an approval racing the expiry, cannot both win); the
caller then publishes it like any scheduled action. Nobody approving in time makes it ``expired``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor import audit, events
from monitor.db.schema import RecoveryAction, utcnow
from monitor.errors import ModelwatchError, NotFound


class NotPendingApproval(ModelwatchError):
    """The action is in another state: nothing to approve (the API answers 409)."""


@dataclass(frozen=True)
class Approved:
    action_id: int
    eta: object  # datetime: when the now-scheduled action may run


def approve(session: Session, action_id: int, *, actor: str, reason: str = "") -> Approved:
    """``pending_approval -> scheduled`` (audited); its ETA is the planned one, or now if that passed."""
    action = session.get(RecoveryAction, action_id)
    if action is None:
        raise NotFound(f"no recovery action {action_id}")
    now = utcnow()
    if action.state == "pending_approval" and action.expires_at is not None and action.expires_at <= now:
        raise NotPendingApproval(f"recovery action {action_id} expired at {action.expires_at.isoformat()} "
                                 "without approval; it can no longer be approved")
    eta = max(action.eta, now)
    won = session.execute(
        update(RecoveryAction)
        .where(RecoveryAction.id == action_id, RecoveryAction.state == "pending_approval")
        .values(state="scheduled", eta=eta)
    ).rowcount
    if not won:
        session.refresh(action)
        raise NotPendingApproval(f"recovery action {action_id} is {action.state}, not pending_approval; "
                                 "only an action waiting for approval can be approved")
    audit.record(session, actor=actor, action="approve", subject=f"recovery:{action_id}", reason=reason,
                 model_id=action.model_id, details={"kind": action.kind, "eta": eta.isoformat()})
    events.action_event(session, "recovery.approved", action_id, actor=actor, eta=eta)
    return Approved(action_id, eta)


def expire_unapproved(session: Session) -> list[int]:
    """Mark ``expired`` every action still waiting for approval past its deadline (audited, ``system``)."""
    now = utcnow()
    overdue = list(session.scalars(select(RecoveryAction).where(
        RecoveryAction.state == "pending_approval", RecoveryAction.expires_at < now)))
    expired = []
    for action in overdue:
        reason = f"not approved by {action.expires_at.isoformat()}"
        won = session.execute(
            update(RecoveryAction)
            .where(RecoveryAction.id == action.id, RecoveryAction.state == "pending_approval")
            .values(state="expired", finished_at=now, error=reason)
        ).rowcount
        if won:
            audit.record(session, actor=audit.SYSTEM, action="expire", subject=f"recovery:{action.id}",
                         reason=reason, model_id=action.model_id, details={"kind": action.kind})
            events.action_event(session, "recovery.cancelled", action.id, state="expired", reason=reason)
            expired.append(action.id)
    return expired
