"""Who may see the dashboard: the API's own tokens, presented by the browser as a cookie.

With no token configured the pages are open (like the API's reads). Once any token is set, a page
without a valid token answers 303 to ``/login?next=<the page>``; the login form checks the token
and stores it in the ``modelwatch_token`` cookie (HttpOnly, SameSite=Strict, Secure over https),
which the JSON API accepts too, so the page's buttons can call it. Writes through the cookie also
need the ``X-Requested-With: modelwatch`` header (``frontdoors.api.security.writer``).
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse

from frontdoors.api.security import ANONYMOUS, COOKIE, Principal, authenticate, configured, presented_token

LOGIN = "/login"
MAX_FORM_BYTES = 8192


def auth_enabled(request: Request) -> bool:
    return bool(configured(request.app.state.settings))


def page_principal(request: Request) -> Principal:
    """FastAPI dependency for pages: the signed-in principal, or a 303 to the login page."""
    if not auth_enabled(request):
        return ANONYMOUS
    principal = authenticate(request.app.state.settings, presented_token(request))
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, "sign in first", headers={"Location": f"{LOGIN}?next={quote(target, safe='')}"})
    return principal


def safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or ``https://...`` would make login an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


async def read_form(request: Request) -> dict[str, str]:
    """The login form's fields (urlencoded), without pulling in a multipart parser for two fields."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def signed_in(request: Request, token: str, target: str) -> RedirectResponse:
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


def signed_out() -> RedirectResponse:
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
