"""Health, readiness, models, runs, forced checks and reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from frontdoors.api.deps import database_url
from frontdoors.api.security import Principal, reader, writer
from monitor.db.engine import get_engine, session_scope
from monitor.errors import NotFound

probes = APIRouter(tags=["health"])
router = APIRouter(prefix="/v1", tags=["models and runs"], dependencies=[Depends(reader)])


@probes.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (liveness)."""
    return {"status": "ok"}


@probes.get("/readyz")
def readyz(url: str = Depends(database_url)) -> dict[str, Any]:
    """The database and the broker are reachable (readiness)."""
    problems = {}
    try:
        with get_engine(url).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # readiness reports any failure as not ready
        problems["database"] = f"{type(exc).__name__}: {exc}"
    try:
        from workers.app import app as celery_app

        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        problems["broker"] = f"{type(exc).__name__}: {exc}"
    if problems:
        from frontdoors.api.unavailable import RETRY_AFTER

        raise HTTPException(503, {"status": "not ready", "problems": problems},
                            headers={"Retry-After": str(RETRY_AFTER)})
    return {"status": "ready"}


@router.get("/models")
def models(url: str = Depends(database_url)) -> list[dict[str, Any]]:
    """Every registered model with its serving version and last check."""
    from monitor.store import models as store, runs

    with session_scope(url) as session:
        result = []
        for model in store.list_models(session):
            serving = store.serving_version(session, model.id)
            last = runs.latest_run(session, model.id)
            result.append({"name": model.name, "task": model.task,
                           "serving_version": serving.version if serving else None,
                           "last_run": last.id if last else None,
                           "last_status": last.status if last else None})
        return result


@router.get("/models/{name}/runs")
def model_runs(name: str, limit: int = Query(20, ge=1, le=200),
               url: str = Depends(database_url)) -> list[dict[str, Any]]:
    """A model's most recent check runs, newest first."""
    from monitor.store import models as store, runs

    with session_scope(url) as session:
        model = store.get_model(session, name)
        return [{"run_id": r.id, "trigger": r.trigger, "version": r.version, "status": r.status,
                 "window": {"start": r.window_start, "end": r.window_end}, "error": r.error}
                for r in runs.recent_runs(session, model.id, limit)]


@router.post("/models/{name}/checks", status_code=202)
def force_check(name: str, rerun: bool = False, url: str = Depends(database_url),
                principal: Principal = Depends(writer)) -> dict[str, Any]:
    """Enqueue a check chain for the model now (trigger ``manual``).

    503 with ``Retry-After`` when the broker cannot take the chain: the run this request opened is
    withdrawn again, so a 503 means nothing was recorded and the client's retry starts afresh.
    """
    from frontdoors.api.unavailable import Unavailable
    from monitor.check.runs import open_check, withdraw
    from tasks.base import BROKER_ERRORS
    from tasks.publish import launch

    with session_scope(url) as session:
        opened = open_check(session, name, trigger="manual", rerun=rerun)
    if opened.created:
        try:
            launch(opened.run_id, name, forced=True)
        except BROKER_ERRORS as exc:
            with session_scope(url) as session:
                withdraw(session, opened.run_id)  # if this fails too, the sweeper publishes the pending run
            raise Unavailable("broker", exc) from None
    return {"run_id": opened.run_id, "created": opened.created}


@router.get("/runs/{run_id}")
def run_summary(run_id: str, url: str = Depends(database_url)) -> dict[str, Any]:
    """A run's summary: KPIs, findings, alerts, recovery actions (the report's JSON)."""
    from monitor.check.summary import build_summary
    from monitor.store import runs

    with session_scope(url) as session:
        return build_summary(session, runs.get_run(session, run_id))


@router.get("/runs/{run_id}/report", response_class=HTMLResponse)
def run_report(run_id: str, url: str = Depends(database_url)) -> str:
    """A run's HTML report (self-contained, inline SVG plots), rendered from its stored summary."""
    from monitor.reports import report_page
    from monitor.store import runs

    with session_scope(url) as session:
        report = runs.report_of(session, run_id)
        if report is None:
            raise NotFound(f"run {run_id!r} has no report (yet)")
        return report_page(report)
