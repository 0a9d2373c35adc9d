"""``POST /v1/hooks/registry``: a model registry announces a new or newly serving version.

No bearer token: the caller proves itself with an HMAC signature over the raw body
(``monitor.registry.signatures``), checked before the body is parsed or the database touched.
The handler records the delivery and the version and publishes a check (trigger ``registry``);
the check runs on a worker. See ``docs/registry.md``.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from frontdoors.api.deps import settings as app_settings
from frontdoors.api.unavailable import RETRY_AFTER
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.schema import RegistryDelivery
from monitor.registry import hook
from monitor.registry.signatures import HookRejected, verify

router = APIRouter(prefix="/v1/hooks", tags=["registry hook"])
log = logging.getLogger(__name__)

#: Registry events are a few hundred bytes; anything far larger is refused before it is read whole.
MAX_BODY = 1 << 20


def _reject(request: Request, exc: HookRejected) -> JSONResponse:
    log.warning("registry hook refused a delivery from %s: %s %s", request.client.host if request.client else "?",
                exc.status, exc)
    headers = {"WWW-Authenticate": 'HMAC realm="registry hook"'} if exc.status == 401 else None
    return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)


async def _body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HookRejected(413, f"delivery body over {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/registry", status_code=202)
async def registry_hook(request: Request, settings: Settings = Depends(app_settings)) -> JSONResponse:
    """MLflow webhook deliveries (``model_version.created``, ``model_version_alias.created``)
    or the plain form ``{"model": NAME, "version": V}``, signed (see docs/registry.md).

    202 with the check's task id when a check was enqueued; 200 for a duplicate delivery id
    (nothing done twice) or an event that changes nothing; 401 unsigned or wrongly signed;
    400 stale or malformed; 413 over 1 MiB; 403 when ``MODELWATCH_WEBHOOK_SECRET`` is not set.
    """
    try:
        body = await _body(request)
        delivery = verify(request.headers, body, settings.webhook_secret, tolerance=settings.webhook_tolerance)
        event = hook.parse(delivery.source, body)
    except HookRejected as exc:
        return _reject(request, exc)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_handle, settings, delivery, event)


def _handle(settings: Settings, delivery, event) -> JSONResponse:
    url = settings.effective_database_url
    try:
        with session_scope(url) as session:
            outcome = hook.receive(session, delivery, event)
    except IntegrityError:  # the same delivery id, concurrently: the other copy did the work
        with session_scope(url) as session:
            outcome = hook.duplicate_of(session, delivery)
        if outcome is None:
            return JSONResponse({"detail": "a concurrent copy of this delivery failed; retry it"}, status_code=503,
                                headers={"Retry-After": str(RETRY_AFTER)})
    if outcome.check_delay is None:
        return JSONResponse(outcome.to_json(), status_code=200)
    from tasks.publish import enqueue_check

    try:
        task_id = enqueue_check(outcome.model, trigger="registry", version=outcome.version,
                                countdown=outcome.check_delay)
    except Exception as exc:  # broker down: forget the delivery so the sender's retry redoes it
        with session_scope(url) as session:
            hook.forget(session, delivery)
        return JSONResponse({**outcome.to_json(), "status": "failed",
                             "detail": f"version recorded but the check could not be queued ({type(exc).__name__}: "
                                       f"{exc}); retry the delivery"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER)})
    with session_scope(url) as session:
        session.execute(update(RegistryDelivery)
                        .where(RegistryDelivery.source == delivery.source,
                               RegistryDelivery.delivery_id == delivery.delivery_id)
                        .values(task_id=task_id, outcome="enqueued"))
    return JSONResponse({**outcome.to_json(), "task_id": task_id}, status_code=202)
