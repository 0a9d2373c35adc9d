"""The web dashboard of ``modelwatch serve``: a React app at ``/`` (built from ``web/``).

``install(app)`` adds the app's pages and sign-in (``routes.router``), the JSON reads it uses
(``routes.reads``) and the built assets under ``/assets`` (shipped in the wheel; nothing is loaded
from the internet). See docs/dashboard.md.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    from frontdoors.dashboard.routes import APP, reads, router

    app.include_router(reads)
    app.include_router(router)
    # check_dir=False: an unbuilt checkout still serves the API (``/`` then says to run make)
    app.mount("/assets", StaticFiles(directory=APP / "assets", check_dir=False), name="dashboard-assets")
