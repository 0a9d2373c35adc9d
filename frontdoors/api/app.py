"""``modelwatch serve``: the service's HTTP front door.

One router per area under ``frontdoors/api/routes``; who may call what is ``frontdoors/api/security``.
OpenAPI is at ``/docs`` (Swagger UI served from bundled assets, ``frontdoors/api/docs.py``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse

from frontdoors import dashboard
from frontdoors.jsonfmt import normalize
from monitor import __version__
from frontdoors.api.routes import alerts as alert_routes, core, hooks, host_metrics, interactions, recovery
from monitor.config import Settings, get_settings
from monitor.db.engine import session_scope
from monitor.errors import NotFound


class UtcJSONResponse(JSONResponse):
    """Every JSON answer with its times in the one UTC format of the CLI's ``--json`` (frontdoors.jsonfmt)."""

    def render(self, content) -> bytes:
        return super().render(normalize(content))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    from frontdoors.api.security import configured

    configured(settings)  # a malformed MODELWATCH_TOKENS fails at start, not on the first request
    app = FastAPI(title="modelwatch", version=__version__, default_response_class=UtcJSONResponse,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    from frontdoors.api import unavailable
    from frontdoors.api.guard import RequestGuard
    from frontdoors.api.routes import audit, events, fleet, ingest, models as model_reads, timeline

    app.add_middleware(RequestGuard, limit=settings.max_body_bytes)  # NUL in URLs, body size, depth, text
    unavailable.install(app)  # database or broker down: 503 with Retry-After, never 500

    for router in (ingest.router, model_reads.router, audit.router, events.router, fleet.router, timeline.router):
        app.include_router(router)

    @app.exception_handler(NotFound)
    async def _not_found(_request, exc: NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    app.include_router(core.probes)
    app.include_router(core.router)
    app.include_router(interactions.router)
    app.include_router(host_metrics.router)
    app.include_router(alert_routes.router)
    app.include_router(recovery.router)
    app.include_router(hooks.router)
    dashboard.install(app)
    from frontdoors.api import docs

    docs.install(app)  # Swagger UI from local assets: /docs works offline

    @app.get("/metrics", response_class=PlainTextResponse, tags=["health"])
    def metrics() -> str:
        """Prometheus text format, read from the database (the same for every API process)."""
        from frontdoors.api.metrics import render

        with session_scope(settings.effective_database_url) as session:
            return render(session, settings)

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory frontdoors.api.app:app_from_env``."""
    return create_app()
