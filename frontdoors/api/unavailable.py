"""A dependency that is down is the caller's "try again shortly", not the service's bug.

Every failure to reach the database (SQLAlchemy's ``OperationalError``, ``InterfaceError``, a
connection that dropped, a pool that timed out) or the broker (kombu's ``OperationalError``,
Redis connection errors, or :class:`Unavailable` raised where a route publishes a task) is
answered ``503 Service Unavailable`` with ``Retry-After`` and a message naming the dependency,
by one handler each (:func:`install`), whatever the route. The routes that publish make sure that a
503 means nothing was half-done (see ``routes/core.py``, ``force_check``).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)

#: Seconds a client should wait before retrying: long enough for a restart or a failover to
#: progress, short enough that a retrying client does not fall far behind.
RETRY_AFTER = 5


class Unavailable(Exception):
    """A dependency (``"database"``, ``"broker"``) cannot be reached; raised to answer 503."""

    def __init__(self, dependency: str, cause: BaseException | str):
        self.dependency = dependency
        self.cause = cause if isinstance(cause, str) else describe(cause)
        super().__init__(f"the {dependency} is unavailable ({self.cause})")


def describe(exc: BaseException) -> str:
    """``Type: first line`` of an error, short (no SQL statement, no parameters)."""
    original = getattr(exc, "orig", None) or exc
    first = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{type(original).__name__}: {first[:200]}" if first else type(original).__name__


def unavailable_response(dependency: str, cause: str) -> JSONResponse:
    return JSONResponse({"detail": f"the {dependency} is unavailable ({cause}); retry in {RETRY_AFTER} s",
                         "dependency": dependency},
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER)})


def database_errors() -> tuple[type[BaseException], ...]:
    from sqlalchemy import exc

    return exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError


def broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeout

    return OperationalError, RedisConnectionError, RedisTimeout


def install(app: FastAPI) -> None:
    """Register the 503 handlers on ``app``."""

    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("%s %s: database unavailable: %s", request.method, request.url.path, describe(exc))
        return unavailable_response("database", describe(exc))

    async def broker_down(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("%s %s: broker unavailable: %s", request.method, request.url.path, describe(exc))
        return unavailable_response("broker", describe(exc))

    async def dependency_down(request: Request, exc: Unavailable) -> JSONResponse:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return unavailable_response(exc.dependency, exc.cause)

    for error in database_errors():
        app.add_exception_handler(error, database_down)
    for error in broker_errors():
        app.add_exception_handler(error, broker_down)
    app.add_exception_handler(Unavailable, dependency_down)
