"""Alerts and silences over HTTP: what the dashboard and scripts read, and a person's say over them.

Contract (the dashboard relies on it):

* ``GET /v1/alerts?open=true&model=NAME`` (reader): alerts, newest first, as ``monitor.alerts.ack.to_json``.
* ``POST /v1/alerts/{id}/ack`` body ``{"reason": "..."}`` (writer): the acknowledged alert.
* ``GET /v1/silences`` (reader): active silences (``?all=true``: expired ones too).
* ``POST /v1/silences`` body ``{"model"?, "rule"?, "severity"?, "duration"? | "ends_at"?, "comment"}``
  (writer): 201 with the silence.
* ``DELETE /v1/silences/{id}`` (writer): expires it; returns the silence.

Decisions are audited under the token's actor (``token:<name>``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from frontdoors.api.deps import RowId, database_url
from frontdoors.api.security import Principal, reader, writer
from monitor.db.engine import session_scope
from monitor.errors import ConfigError, Conflict

router = APIRouter(prefix="/v1", tags=["alerts"])


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=2000)


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(None, max_length=128)  # the silences table's column sizes
    rule: str | None = Field(None, max_length=64)
    severity: Literal["warning", "critical"] | None = None
    duration: str | None = Field(None, description="How long from now, e.g. '2h'.")
    ends_at: dt.datetime | None = Field(None, description="ISO-8601 end time with a zone.")
    comment: str = Field(..., min_length=1, max_length=2000)


@router.get("/alerts")
def list_alerts(open: bool = False, model: str | None = None, limit: int = Query(200, ge=1, le=1000),
                url: str = Depends(database_url), _: Principal = Depends(reader)) -> list[dict[str, Any]]:
    """Alerts with their state and how each channel was told (``open=true``: firing or acknowledged)."""
    from monitor.alerts.ack import to_json
    from monitor.alerts.lifecycle import list_alerts as alerts_of
    from monitor.store import models as store

    with session_scope(url) as session:
        model_id = store.get_model(session, model).id if model else None
        return [to_json(session, a) for a in alerts_of(session, model_id, open, limit)]


@router.post("/alerts/{alert_id}/ack")
def ack_alert(alert_id: RowId, body: AckBody | None = None, url: str = Depends(database_url),
              principal: Principal = Depends(writer)) -> dict[str, Any]:
    """Acknowledge an open alert: it stays open, repeat notifications stop."""
    from monitor.alerts.ack import acknowledge, to_json

    try:
        with session_scope(url) as session:
            alert = acknowledge(session, alert_id, actor=principal.actor, reason=(body or AckBody()).reason)
            return to_json(session, alert)
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/silences")
def list_silences(all: bool = False, url: str = Depends(database_url),
                  _: Principal = Depends(reader)) -> list[dict[str, Any]]:
    """Active silences, newest first (``all=true``: expired ones too)."""
    from monitor.alerts import silences

    with session_scope(url) as session:
        return [silences.to_json(s) for s in silences.list_silences(session, include_expired=all)]


@router.post("/silences", status_code=201)
def add_silence(body: SilenceBody, url: str = Depends(database_url),
                principal: Principal = Depends(writer)) -> dict[str, Any]:
    """Hold notifications of matching alerts until ``ends_at`` (or for ``duration``)."""
    from monitor.alerts import silences

    try:
        with session_scope(url) as session:
            created = silences.create(session, actor=principal.actor, comment=body.comment, model=body.model,
                                      rule=body.rule, severity=body.severity, duration=body.duration,
                                      until=body.ends_at)
            return silences.to_json(created)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/silences/{silence_id}")
def expire_silence(silence_id: RowId, url: str = Depends(database_url),
                   principal: Principal = Depends(writer)) -> dict[str, Any]:
    """End a silence now; the next check notifies the alerts it held."""
    from monitor.alerts import silences

    with session_scope(url) as session:
        return silences.to_json(silences.expire(session, silence_id, actor=principal.actor))
