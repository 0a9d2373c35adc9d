"""``GET /v1/audit``: who decided what, when and why (the same trail as ``modelwatch audit``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from frontdoors.api.deps import database_url
from frontdoors.api.security import reader
from monitor.db.engine import session_scope

router = APIRouter(prefix="/v1", tags=["audit"], dependencies=[Depends(reader)])


class AuditEventOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str = Field(description="token:<name>, cli:<user> or system")
    action: str
    model: str | None
    subject: str
    reason: str
    details: dict[str, Any]


@router.get("/audit", response_model=list[AuditEventOut])
def audit_trail(model: str | None = Query(None, max_length=128, description="Only this model's decisions"),
                limit: int = Query(100, ge=1, le=1000), url: str = Depends(database_url)) -> list[AuditEventOut]:
    """Every recorded decision (acknowledge, silence, cancel, rollback, retrain...), newest first."""
    from monitor import audit as trail
    from monitor.redact import redact
    from monitor.store import models as store

    with session_scope(url) as session:
        model_id = store.get_model(session, model).id if model else None
        names = {m.id: m.name for m in store.list_models(session)}
        return [AuditEventOut(id=e.id, at=e.at, actor=e.actor, action=e.action, model=names.get(e.model_id),
                              subject=e.subject, reason=e.reason, details=redact(e.details or {}))
                for e in trail.events(session, model_id, limit)]
