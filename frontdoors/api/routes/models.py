"""Read endpoints over a model's history: detail and versions, KPIs over time, findings, reports.

All need a read token once any token is configured (``frontdoors.api.security.reader``). Lists are
bounded (``limit``) and newest first, except KPI series, which are oldest first so they plot as
they come. A model's spec is returned with its secrets hidden (``monitor.redact``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from frontdoors.api.deps import database_url
from frontdoors.api.security import reader
from monitor.db.engine import session_scope

router = APIRouter(prefix="/v1", tags=["history"], dependencies=[Depends(reader)])


class Version(BaseModel):
    version: str
    source: str
    status: str = Field(description="registered, serving, retired or rolled_back")
    serving: bool
    promoted_at: dt.datetime | None
    created_at: dt.datetime
    reference_rows: int | None = Field(description="Rows of its reference profile; null: none computed")
    details: dict[str, Any]


class LastRun(BaseModel):
    run_id: str
    status: str
    trigger: str
    window_start: dt.datetime
    window_end: dt.datetime
    finished_at: dt.datetime | None


class ModelDetail(BaseModel):
    name: str
    task: str
    status: str
    every_seconds: float
    window_seconds: float
    created_at: dt.datetime
    updated_at: dt.datetime
    serving_version: str | None
    versions: list[Version]
    last_run: LastRun | None
    spec: dict[str, Any] = Field(description="The validated spec, secrets shown as ***")


class KpiPoint(BaseModel):
    run_id: str
    version: str | None
    window_end: dt.datetime
    value: float | None
    baseline: float | None


class KpiSeries(BaseModel):
    model: str
    segment: str = Field(description='"" is the whole window; else e.g. "region=north"')
    series: dict[str, list[KpiPoint]] = Field(description="KPI name -> points, oldest first")


class FindingOut(BaseModel):
    run_id: str
    rule: str
    kind: str
    segment: str
    status: str = Field(description="firing, ok or insufficient_data")
    severity: str
    metric: str | None
    value: float | None
    baseline: float | None
    threshold: float | None
    message: str
    window_end: dt.datetime | None
    details: dict[str, Any]


class ReportOut(BaseModel):
    run_id: str
    created_at: dt.datetime
    status: str | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    firing: int = Field(description="Firing findings in the run")
    html_url: str
    summary_url: str


def _versions(session, model_id: int) -> list[Version]:
    from monitor.redact import redact
    from monitor.store import history, models as store

    rows = store.list_versions(session, model_id)
    sizes = history.reference_rows(session, [v.id for v in rows])
    return [Version(version=v.version, source=v.source, status=v.status, serving=v.serving,
                    promoted_at=v.promoted_at, created_at=v.created_at, reference_rows=sizes.get(v.id),
                    details=redact(v.details or {})) for v in rows]


@router.get("/models/{name}", response_model=ModelDetail)
def model_detail(name: str, url: str = Depends(database_url)) -> ModelDetail:
    """One model: its settings, every version (serving one flagged), its last run, its spec."""
    from monitor.redact import redact
    from monitor.store import models as store, runs

    with session_scope(url) as session:
        model = store.get_model(session, name)
        versions = _versions(session, model.id)
        last = runs.latest_run(session, model.id)
        return ModelDetail(
            name=model.name, task=model.task, status=model.status, every_seconds=model.every_seconds,
            window_seconds=model.window_seconds, created_at=model.created_at, updated_at=model.updated_at,
            serving_version=next((v.version for v in versions if v.serving), None), versions=versions,
            last_run=LastRun(run_id=last.id, status=last.status, trigger=last.trigger,
                             window_start=last.window_start, window_end=last.window_end,
                             finished_at=last.finished_at) if last else None,
            spec=redact(model.spec))


@router.get("/models/{name}/versions", response_model=list[Version])
def model_versions(name: str, url: str = Depends(database_url)) -> list[Version]:
    """Every version of the model, oldest first."""
    from monitor.store import models as store

    with session_scope(url) as session:
        return _versions(session, store.get_model(session, name).id)


@router.get("/models/{name}/kpis", response_model=KpiSeries)
def model_kpis(name: str,
               kpi: str | None = Query(None, alias="name", max_length=64,
                                       description="One KPI (e.g. recall); omitted: every KPI"),
               segment: str = Query("", max_length=128, description='"" (default) for the whole window'),
               limit: int = Query(100, ge=1, le=1000, description="Latest points per KPI"),
               url: str = Depends(database_url)) -> KpiSeries:
    """KPI values over time, one point per check run, oldest first."""
    from monitor.store import history, models as store

    with session_scope(url) as session:
        model = store.get_model(session, name)
        names = [kpi] if kpi else history.kpi_names(session, model.id, segment)
        series = {n: [KpiPoint(run_id=v.run_id, version=v.version, window_end=v.window_end, value=v.value,
                               baseline=v.baseline) for v in history.kpi_series(session, model.id, n, segment, limit)]
                  for n in names}
        return KpiSeries(model=name, segment=segment, series=series)


def _findings(session, found) -> list[FindingOut]:
    from monitor.store import history

    windows = history.run_windows(session, {f.run_id for f in found})
    return [FindingOut(run_id=f.run_id, rule=f.rule, kind=f.kind, segment=f.segment, status=f.status,
                       severity=f.severity, metric=f.metric, value=f.value, baseline=f.baseline,
                       threshold=f.threshold, message=f.message,
                       window_end=windows[f.run_id].window_end if f.run_id in windows else None,
                       details=f.details or {}) for f in found]


@router.get("/runs/{run_id}/findings", response_model=list[FindingOut])
def run_findings(run_id: str, url: str = Depends(database_url)) -> list[FindingOut]:
    """Every finding of one check run (one per rule and segment)."""
    from monitor.store import runs

    with session_scope(url) as session:
        runs.get_run(session, run_id)
        return _findings(session, runs.findings_of(session, run_id))


@router.get("/models/{name}/findings", response_model=list[FindingOut])
def model_findings(name: str, status: str | None = Query(None, pattern="^(firing|ok|insufficient_data)$"),
                   limit: int = Query(100, ge=1, le=1000), url: str = Depends(database_url)) -> list[FindingOut]:
    """A model's latest findings across its runs, newest first; ``status=firing`` for problems only."""
    from monitor.store import history, models as store

    with session_scope(url) as session:
        model = store.get_model(session, name)
        return _findings(session, history.model_findings(session, model.id, limit, status))


@router.get("/models/{name}/reports", response_model=list[ReportOut])
def model_reports(name: str, limit: int = Query(50, ge=1, le=500),
                  url: str = Depends(database_url)) -> list[ReportOut]:
    """A model's latest reports, newest first, with links to their HTML and JSON."""
    from monitor.store import history, models as store

    with session_scope(url) as session:
        model = store.get_model(session, name)
        found = history.reports_of(session, model.id, limit)
        windows = history.run_windows(session, {r.run_id for r in found})
        result = []
        for r in found:
            run = windows.get(r.run_id)
            findings = (r.summary or {}).get("findings") or []
            result.append(ReportOut(
                run_id=r.run_id, created_at=r.created_at, status=run.status if run else None,
                window_start=run.window_start if run else None, window_end=run.window_end if run else None,
                firing=sum(1 for f in findings if isinstance(f, dict) and f.get("status") == "firing"),
                html_url=f"/v1/runs/{r.run_id}/report", summary_url=f"/v1/runs/{r.run_id}"))
        return result
