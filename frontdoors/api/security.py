"""Who may call the API, and as whom: bearer tokens compared in constant time.

* ``MODELWATCH_API_TOKEN`` reads and writes, as actor ``token:admin``;
* ``MODELWATCH_READ_TOKEN`` reads (the dashboard's pages and the read endpoints) only;
* ``MODELWATCH_TOKENS="alice=s3cret,grafana=t0k:read"`` adds named tokens, so the audit trail
  says which person or system decided.

With no token configured at all (the one-machine default) reads are open and writes are refused
(403): nothing can change state until an operator sets a token. Once any token is set, every
read needs one too. ``/healthz``, ``/readyz`` and ``/metrics`` stay open for probes and
scrapers. A token comes as ``Authorization: Bearer <token>`` or, for the dashboard in a browser,
the ``modelwatch_token`` cookie that its login form sets.

A write authenticated by that cookie must also carry ``X-Requested-With: modelwatch`` (the
dashboard's buttons send it). A browser sends cookies on its own, but a cross-site page cannot
add a custom header without a CORS preflight this API never grants, so the header is the CSRF
guard on top of the cookie's ``SameSite=Strict``. Bearer-token writes need no such header.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import HTTPException, Request

from monitor.config import Settings

COOKIE = "modelwatch_token"
CSRF_HEADER, CSRF_VALUE = "X-Requested-With", "modelwatch"


@dataclass(frozen=True)
class Principal:
    name: str
    can_write: bool

    @property
    def actor(self) -> str:
        """The audit trail's ``who``."""
        return f"token:{self.name}"


ANONYMOUS = Principal("anonymous", can_write=False)


def configured(settings: Settings) -> list[tuple[bytes, Principal]]:
    """Every configured token with its principal; a malformed entry is a startup error."""
    found: list[tuple[bytes, Principal]] = []
    if settings.api_token:
        found.append((settings.api_token.encode(), Principal("admin", True)))
    if settings.read_token:
        found.append((settings.read_token.encode(), Principal("reader", False)))
    for entry in filter(None, (e.strip() for e in settings.tokens.split(","))):
        name, sep, token = entry.partition("=")
        if not sep or not name.strip() or not token:
            raise ValueError(f"MODELWATCH_TOKENS entry {name.strip() or entry[:8]!r}: expected name=token[:read]")
        read_only = token.endswith(":read")
        token = token[: -len(":read")] if read_only else token
        found.append((token.encode(), Principal(name.strip(), not read_only)))
    return found


def authenticate(settings: Settings, token: str | None) -> Principal | None:
    """The principal of ``token``, or None. Compares against every token, with no early exit."""
    if not token:
        return None
    offered = token.encode()
    match = None
    for secret, principal in configured(settings):
        if hmac.compare_digest(offered, secret) and match is None:
            match = principal
    return match


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def presented_token(request: Request) -> str | None:
    return bearer_token(request) or request.cookies.get(COOKIE)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def reader(request: Request) -> Principal:
    """FastAPI dependency: any valid token (or none at all when no token is configured)."""
    settings = settings_of(request)
    if not configured(settings):
        return ANONYMOUS
    principal = authenticate(settings, presented_token(request))
    if principal is None:
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
    return principal


def writer(request: Request) -> Principal:
    """FastAPI dependency: a token that may write."""
    settings = settings_of(request)
    if not any(p.can_write for _, p in configured(settings)):
        raise HTTPException(403, "writes are disabled: set MODELWATCH_API_TOKEN to enable them")
    principal = authenticate(settings, presented_token(request))
    if principal is None:
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not principal.can_write:
        raise HTTPException(403, f"token {principal.name!r} is read-only")
    if bearer_token(request) is None and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise HTTPException(403, f"a write signed in by the dashboard cookie needs the header "
                                 f"{CSRF_HEADER}: {CSRF_VALUE} (CSRF guard)")
    return principal
