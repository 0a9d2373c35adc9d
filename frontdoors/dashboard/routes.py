"""The dashboard's HTTP surface: the React app at ``/`` (and its client routes), sign-in, and the
three JSON reads only its pages need (``/v1/dashboard/...``).

The app is built by ``make`` from ``web/`` into ``static/app/`` (shipped in the wheel). Every
client route (``/``, ``/models/{name}``, ``/alerts``, ``/runs/{id}``) answers the same
``index.html`` (the pages also read ``/v1/fleet*`` and ``/v1/models/{name}/timeseries|drift|annotations``). With a token
configured, a request without a valid one answers 303 to
``/login?next=<the page>`` as before, so a bookmarked page asks for the token first. A strict
Content-Security-Policy (scripts from this site only, no framing) backs up React's escaping.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from frontdoors.api.deps import database_url
from frontdoors.api.security import Principal, authenticate, reader
from frontdoors.dashboard import alerts as alert_rows, auth, model_page
from monitor import __version__
from monitor.db.engine import session_scope

APP = Path(__file__).parent / "static" / "app"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "Cache-Control": "no-store"}
CLIENT_ROUTES = ("/", "/alerts", "/models/{name}", "/runs/{run_id}")

router = APIRouter(include_in_schema=False)
reads = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])


def index() -> FileResponse | HTMLResponse:
    page = APP / "index.html"
    if not page.exists():
        return HTMLResponse("<h1>modelwatch</h1><p>The dashboard is not built: run <code>make</code> "
                            "(npm ci &amp;&amp; npm run build in web/).</p>", status_code=503, headers=HEADERS)
    return FileResponse(page, media_type="text/html", headers=HEADERS)


def client_page(request: Request, _principal: Principal = Depends(auth.page_principal)):
    return index()


for route in CLIENT_ROUTES:
    router.add_api_route(route, client_page, methods=["GET"], response_class=HTMLResponse)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):
    if not auth.auth_enabled(request):
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return index()


@router.post("/login")
async def login(request: Request) -> RedirectResponse:
    """Check the token; on success set the cookie, else back to the form with the reason (``error=``)."""
    form = await auth.read_form(request)
    target = auth.safe_next(form.get("next"))
    token = form.get("token", "").strip()
    if not auth.auth_enabled(request):
        return RedirectResponse(target, status_code=303)
    if authenticate(request.app.state.settings, token) is not None:
        return auth.signed_in(request, token, target)
    error = "empty" if not token else "invalid"
    return RedirectResponse(f"{auth.LOGIN}?next={quote(target, safe='')}&error={error}", status_code=303)


@router.post("/logout")
def logout() -> RedirectResponse:
    return auth.signed_out()


@reads.get("/session")
def who(request: Request, principal: Principal = Depends(reader)) -> dict:
    """Who is signed in and whether they may write (the pages hide buttons they could not use)."""
    return alert_rows.session_info(principal, auth.auth_enabled(request), __version__)



@reads.get("/alerts")
def alerts(url: str = Depends(database_url), _: Principal = Depends(reader)) -> dict:
    """Open alerts (critical first) with who acknowledged them; recently resolved ones."""
    with session_scope(url) as session:
        return alert_rows.alerts_page(session)


@reads.get("/models/{name}")
def model(name: str, url: str = Depends(database_url), _: Principal = Depends(reader)) -> dict:
    """One model's page in one read: the latest check's tiles and drift, alerts with who acknowledged
    them, the recovery schedule, runs and the audit trail (the history comes from the timeline reads)."""
    with session_scope(url) as session:
        return model_page.model_page(session, name)
