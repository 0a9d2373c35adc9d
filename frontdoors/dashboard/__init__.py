"""The web dashboard of ``modelwatch serve``: server-rendered pages at ``/``.

``install(app)`` adds the pages (``routes``) and the package's own CSS and JavaScript under
``/static`` (shipped in the wheel; nothing is loaded from the internet). See docs/dashboard.md.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    from frontdoors.dashboard.routes import router

    app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("frontdoors.dashboard", "static")]), name="dashboard-static")
