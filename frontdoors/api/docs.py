"""``/docs`` (Swagger UI) served from this process, so it works offline and behind egress filters.

FastAPI's default page loads Swagger UI's JavaScript and CSS from a CDN, which leaves ``/docs``
blank on an air-gapped host. The ``swagger-ui-bundle`` package ships those files; they are mounted
at ``/docs-assets`` and the page is FastAPI's own, pointed at them (FastAPI's documented
self-hosting recipe). ReDoc is switched off: it has no offline bundle here.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs-assets"


def install(app: FastAPI) -> None:
    """Mount the bundled assets and the ``/docs`` page; the app must be built with ``docs_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   oauth2_redirect_url=redirect,
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")

    @app.get(redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
