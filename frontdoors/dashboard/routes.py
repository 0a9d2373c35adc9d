"""The dashboard's pages: ``/`` (every model), ``/models/{name}``, ``/alerts``, ``/login``.

Pages are rendered on the server with Jinja2 (autoescape on: model, feature and rule names,
values and messages are user input) and read the store directly, inside one session per page.
Charts are inline SVG; the one script (``static/dashboard.js``) only wires the action buttons to
the JSON API. A strict Content-Security-Policy (scripts from this site only, no framing) backs
up the escaping.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import ChainableUndefined, Environment, PackageLoader

from monitor import __version__
from monitor.alerts.lifecycle import list_alerts
from frontdoors.api.deps import database_url
from frontdoors.api.security import Principal, authenticate
from frontdoors.dashboard import auth, filters, model_view, views
from monitor.db.engine import session_scope
from monitor.db.schema import utcnow
from monitor.errors import NotFound

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "Cache-Control": "no-store"}

templates = Environment(loader=PackageLoader("frontdoors.dashboard", "templates"), autoescape=True,
                        undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
filters.install(templates)
router = APIRouter(include_in_schema=False)


def page(request: Request, principal: Principal, name: str, status: int = 200, **context) -> HTMLResponse:
    """Render ``name`` with what every page's frame needs (who is signed in, may they write)."""
    html = templates.get_template(name).render(
        principal=principal, auth_on=auth.auth_enabled(request), can_write=principal.can_write,
        version=__version__, now=context.pop("now", None) or utcnow(), **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _open_count(session) -> int:
    return len(list_alerts(session, open_only=True, limit=1000))


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, principal: Principal = Depends(auth.page_principal),
             url: str = Depends(database_url)) -> HTMLResponse:
    with session_scope(url) as session:
        data = views.overview(session)
        return page(request, principal, "overview.html", page_data=data, active="overview",
                    open_count=data.open_alerts)


@router.get("/models/{name}", response_class=HTMLResponse)
def model(name: str, request: Request, principal: Principal = Depends(auth.page_principal),
          url: str = Depends(database_url)) -> HTMLResponse:
    now = utcnow()
    with session_scope(url) as session:
        try:
            data = model_view.model_page(session, name, now)
        except NotFound as exc:
            return page(request, principal, "missing.html", status=404, message=str(exc), active="overview")
        return page(request, principal, "model.html", active="overview",
                    open_count=_open_count(session), **data)


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, principal: Principal = Depends(auth.page_principal),
           url: str = Depends(database_url)) -> HTMLResponse:
    with session_scope(url) as session:
        data = views.alerts_page(session)
        return page(request, principal, "alerts.html", active="alerts", open_count=len(data["open"]), **data)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    if not auth.auth_enabled(request):
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return page(request, _nobody(), "login.html", target=auth.safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> HTMLResponse:
    form = await auth.read_form(request)
    target = auth.safe_next(form.get("next"))
    token = form.get("token", "").strip()
    if not auth.auth_enabled(request):
        return RedirectResponse(target, status_code=303)
    if authenticate(request.app.state.settings, token) is not None:
        return auth.signed_in(request, token, target)
    error = "Enter your modelwatch token." if not token else "That token is not valid."
    return page(request, _nobody(), "login.html", status=401, target=target, error=error)


@router.post("/logout")
def logout() -> RedirectResponse:
    return auth.signed_out()


def _nobody() -> Principal:
    return Principal("nobody", can_write=False)
