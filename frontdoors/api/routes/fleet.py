"""What an on-call engineer opens first: the fleet's health and the open alerts grouped by cause.

* ``GET /v1/fleet``: one row per model (health, serving version, last run, open alerts by
  severity, pending recovery actions, the latest run's KPIs), worst first. A fixed number of
  queries whatever the number of models (``monitor.store.fleet``).
* ``GET /v1/fleet/alerts?by=cause|rule``: open alerts grouped by model and kind (``cause``), or by
  rule across models (``rule``), worst first.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from frontdoors.api.deps import database_url
from frontdoors.api.security import reader
from monitor.db.engine import session_scope

router = APIRouter(prefix="/v1/fleet", tags=["fleet"], dependencies=[Depends(reader)])


class FleetModel(BaseModel):
    name: str
    task: str
    status: str = Field(description="The model's own status (active, paused...)")
    health: str = Field(description="critical, alerting, failed, ok or unchecked (as `modelwatch status`)")
    serving_version: str | None
    last_run_id: str | None
    last_run_status: str | None
    last_window_end: dt.datetime | None
    last_finished_at: dt.datetime | None
    open_alerts: dict[str, int] = Field(description="Open (firing or acknowledged) alerts by severity")
    pending_actions: int = Field(description="Recovery actions awaiting approval, scheduled or running")
    awaiting_approval: int
    kpis: dict[str, float | None] = Field(description="The latest run's whole-window KPIs")


class FleetSummary(BaseModel):
    models: list[FleetModel] = Field(description="Worst health first, then by name")
    counts: dict[str, int] = Field(description="Models per health")


class AlertGroupOut(BaseModel):
    key: str = Field(description='"model/kind" (by=cause) or "rule" (by=rule)')
    model: str | None
    kind: str | None
    rule: str | None
    severity: str = Field(description="The worst severity in the group")
    count: int
    models: list[str]
    alert_ids: list[int]
    first_seen: dt.datetime
    last_seen: dt.datetime
    acknowledged: int = Field(description="How many of the group's alerts someone acknowledged")


@router.get("", response_model=FleetSummary)
def fleet_summary(url: str = Depends(database_url)) -> FleetSummary:
    """Every model's health at a glance (the overview's grid)."""
    from monitor.store import fleet

    with session_scope(url) as session:
        rows = fleet.fleet(session)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.health] = counts.get(row.health, 0) + 1
    return FleetSummary(models=[FleetModel(**row.__dict__) for row in rows], counts=counts)


@router.get("/alerts", response_model=list[AlertGroupOut])
def alert_groups(by: Literal["cause", "rule"] = Query("cause", description="cause: model and kind; rule: one "
                                                                             "rule across models"),
                 url: str = Depends(database_url)) -> list[AlertGroupOut]:
    """Open alerts grouped, so one broken model (or one broken upstream) reads as one line."""
    from monitor.store import fleet

    with session_scope(url) as session:
        return [AlertGroupOut(**group.__dict__) for group in fleet.alert_groups(session, by)]
