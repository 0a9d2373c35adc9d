"""The recovery schedule over HTTP: list actions, approve or cancel one (what the dashboard calls).

* ``GET /v1/recovery?model=NAME`` (reader): actions newest first, as ``schedule.to_json``.
* ``POST /v1/recovery/{id}/approve`` ``{"reason": "..."}`` (writer): 200 with the action; 409 if it
  is not pending approval (or expired).
* ``POST /v1/recovery/{id}/cancel`` ``{"reason": "..."}`` (writer): 200 with the action, its Celery
  task revoked; 409 if it already started or ended.

Both writes are audited with the token's actor.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from monitor import audit
from frontdoors.api.deps import RowId, database_url
from frontdoors.api.security import Principal, reader, writer
from monitor.db.engine import session_scope
from monitor.db.schema import RecoveryAction
from monitor.errors import NotFound

router = APIRouter(prefix="/v1/recovery", tags=["recovery"])


class Decision(BaseModel):
    reason: str = Field("", max_length=2000, description="Why; recorded in the audit trail.")


def _action(session, action_id: int) -> dict[str, Any]:
    from monitor.recovery.schedule import to_json
    from monitor.store import models as store

    action = session.get(RecoveryAction, action_id)
    if action is None:
        raise NotFound(f"no recovery action {action_id}")
    return to_json(action, store.get_model_by_id(session, action.model_id).name)


@router.get("")
def list_recovery(model: str | None = Query(None, description="Only this model's actions."),
                  limit: int = Query(200, ge=1, le=1000), url: str = Depends(database_url),
                  _: Principal = Depends(reader)) -> list[dict[str, Any]]:
    """Recovery actions, newest first: state, ETA, approval deadline, result and verification."""
    from monitor.recovery.schedule import list_actions, to_json
    from monitor.store import models as store

    with session_scope(url) as session:
        model_id = store.get_model(session, model).id if model else None
        names = {m.id: m.name for m in store.list_models(session)}
        return [to_json(a, names.get(a.model_id)) for a in list_actions(session, model_id, limit)]


@router.post("/{action_id}/approve")
def approve_action(action_id: RowId, decision: Decision | None = None, url: str = Depends(database_url),
                   principal: Principal = Depends(writer)) -> dict[str, Any]:
    """Approve an action pending approval; it is scheduled for its ETA (or now, if that passed)."""
    from monitor.recovery.approval import NotPendingApproval, approve
    from tasks.publish import send_approved

    reason = decision.reason if decision else ""
    try:
        with session_scope(url) as session:
            approved = approve(session, action_id, actor=principal.actor, reason=reason)
    except NotPendingApproval as exc:
        raise HTTPException(409, str(exc)) from exc
    send_approved(approved.action_id, approved.eta)
    with session_scope(url) as session:
        return _action(session, action_id)


@router.post("/{action_id}/cancel")
def cancel_action(action_id: RowId, decision: Decision | None = None, url: str = Depends(database_url),
                  principal: Principal = Depends(writer)) -> dict[str, Any]:
    """Cancel an action that waits (for approval or its ETA) and revoke its Celery task."""
    from monitor.recovery.schedule import cancel
    from tasks.publish import revoke

    reason = (decision.reason if decision else "") or f"cancelled by {principal.actor}"
    with session_scope(url) as session:
        action = session.get(RecoveryAction, action_id)
        if action is None:
            raise NotFound(f"no recovery action {action_id}")
        if not cancel(session, action_id, reason):
            raise HTTPException(409, f"recovery action {action_id} is {action.state}; only scheduled actions "
                                     "or ones pending approval can be cancelled")
        audit.record(session, actor=principal.actor, action="cancel", subject=f"recovery:{action_id}",
                     reason=reason, model_id=action.model_id, details={"kind": action.kind})
        task_id = action.celery_task_id
    revoke(task_id)
    with session_scope(url) as session:
        return _action(session, action_id)
