"""``modelwatch serve``: the service's HTTP front door.

Reads are open (a read token comes with the dashboard); writes need ``Authorization: Bearer
<MODELWATCH_API_TOKEN>``, compared in constant time. OpenAPI is at ``/docs``.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy import text

from monitor import __version__
from monitor.config import Settings, get_settings
from monitor.db.engine import get_engine, session_scope
from monitor.errors import NotFound


def _require_token(settings: Settings, authorization: str | None) -> None:
    if not settings.api_token:
        raise HTTPException(403, "writes are disabled: set MODELWATCH_API_TOKEN to enable them")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), settings.api_token.encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    url = settings.effective_database_url
    app = FastAPI(title="modelwatch", version=__version__)

    def writer(authorization: str | None = Header(None)) -> None:
        _require_token(settings, authorization)

    @app.exception_handler(NotFound)
    async def _not_found(_request, exc: NotFound):
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, Any]:
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
            raise HTTPException(503, {"status": "not ready", "problems": problems})
        return {"status": "ready"}

    @app.get("/v1/models")
    def models() -> list[dict[str, Any]]:
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

    @app.get("/v1/models/{name}/runs")
    def model_runs(name: str, limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
        from monitor.store import models as store, runs

        with session_scope(url) as session:
            model = store.get_model(session, name)
            return [{"run_id": r.id, "trigger": r.trigger, "version": r.version, "status": r.status,
                     "window": {"start": r.window_start, "end": r.window_end}, "error": r.error}
                    for r in runs.recent_runs(session, model.id, limit)]

    @app.post("/v1/models/{name}/checks", status_code=202, dependencies=[Depends(writer)])
    def force_check(name: str, rerun: bool = False) -> dict[str, Any]:
        from monitor.check.runs import open_check
        from tasks.check import launch

        with session_scope(url) as session:
            opened = open_check(session, name, trigger="manual", rerun=rerun)
        if opened.created:
            launch(opened.run_id, name)
        return {"run_id": opened.run_id, "created": opened.created}

    @app.get("/v1/runs/{run_id}")
    def run_summary(run_id: str) -> dict[str, Any]:
        from monitor.check.summary import build_summary
        from monitor.store import runs

        with session_scope(url) as session:
            return build_summary(session, runs.get_run(session, run_id))

    @app.get("/v1/runs/{run_id}/report", response_class=HTMLResponse)
    def run_report(run_id: str) -> str:
        from monitor.store import runs

        with session_scope(url) as session:
            report = runs.report_of(session, run_id)
            if report is None:
                raise NotFound(f"run {run_id!r} has no report (yet)")
            return report.html

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        from monitor.api.metrics import render

        with session_scope(url) as session:
            return render(session)

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory monitor.api.app:app_from_env``."""
    return create_app()
