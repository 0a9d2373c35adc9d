"""The live event stream: ``GET /v1/events`` (Server-Sent Events) and ``GET /v1/events/recent``.

The events table (``monitor.events``) is the truth; this module only follows it. On the embedded
default it looks every :data:`POLL_EMBEDDED` seconds; on Redis it sleeps on the
``modelwatch:events`` pub/sub channel and wakes when a process commits an event (and still looks
every :data:`POLL_REDIS` seconds, so a lost notice costs latency, not an event). Framing and the
resume cursor are ``frontdoors.api.sse``. The format is documented in docs/api.md ("Events").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from frontdoors.api import sse
from frontdoors.api.deps import INT64_MAX, settings as app_settings
from frontdoors.api.security import reader
from monitor import events as outbox
from monitor.config import Settings
from monitor.db.engine import is_sqlite, session_scope

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(reader)])

POLL_EMBEDDED = 0.5
POLL_REDIS = 2.0
POLL_GAP = 0.25  # how soon to look again while an event is held back behind a gap
PAGE = 500


class EventOut(BaseModel):
    """One event; the type's own fields (``alert_id``, ``run_id``...) come alongside these."""

    model_config = ConfigDict(extra="allow")
    id: int = Field(description="The stream's cursor: resume with Last-Event-ID or ?after=")
    type: str = Field(description="run.finished, alert.fired, alert.acknowledged, alert.resolved, "
                                  "recovery.scheduled/approved/cancelled/ran/verified")
    at: str = Field(description="When the change was recorded, in the transaction that made it (ISO-8601 UTC)")
    model: str | None


class RecentEvents(BaseModel):
    events: list[EventOut] = Field(description="Oldest first")
    last_id: int = Field(description="Open the stream with ?after=<last_id> to continue without a hole")


ModelFilter = Query(None, max_length=128, description="Only this model's events")


@router.get("/events/recent", response_model=RecentEvents)
def recent_events(model: str | None = ModelFilter, limit: int = Query(50, ge=1, le=500),
                  settings: Settings = Depends(app_settings)) -> RecentEvents:
    """The newest events for a page's first paint, and the id to stream on from."""
    with session_scope(settings.effective_database_url) as session:
        _known(session, model)
        rows = outbox.recent(session, model=model, limit=limit)
        newest = outbox.last_id(session)
    return RecentEvents(events=[EventOut(**outbox.to_json(r)) for r in rows], last_id=newest)


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "An endless text/event-stream; see docs/api.md, Events"}})
async def stream_events(request: Request, after: int | None = Query(None, ge=0, le=INT64_MAX,
                                                                      description="Resume after this event id"),
                        model: str | None = ModelFilter,
                        last_event_id: str | None = Header(None, alias="Last-Event-ID"),
                        settings: Settings = Depends(app_settings)) -> StreamingResponse:
    """Events as they commit. Without a cursor the stream starts at "now" (see ``/events/recent``)."""
    try:
        start = sse.resume_point(last_event_id, after)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    url = settings.effective_database_url
    if model is not None:
        await anyio.to_thread.run_sync(_check_model, url, model)
    if start is None:
        start = await anyio.to_thread.run_sync(_last_id, url)
    cursor = sse.Cursor(start, grace=0.0 if is_sqlite(url) else sse.POSTGRES_GRACE)
    return StreamingResponse(_follow(request, settings, cursor, model), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _known(session, model: str | None) -> None:
    """A filter naming no model would be a silent, empty stream: 404 instead (NotFound)."""
    if model is not None:
        from monitor.store import models as store

        store.get_model(session, model)


def _check_model(url: str, model: str) -> None:
    with session_scope(url) as session:
        _known(session, model)


def _last_id(url: str) -> int:
    with session_scope(url) as session:
        return outbox.last_id(session)


def _page(url: str, position: int) -> list[dict[str, Any]]:
    with session_scope(url) as session:
        return [outbox.to_json(row) for row in outbox.after(session, position, limit=PAGE)]


async def _follow(request: Request, settings: Settings, cursor: sse.Cursor, model: str | None) -> AsyncIterator[str]:
    """Yield frames until the client goes away: read a page, hand out what the cursor allows, wait."""
    url = settings.effective_database_url
    loop = asyncio.get_running_loop()
    yield sse.preamble()
    last_sent = loop.time()
    async with _waker(settings) as wait:
        while not await request.is_disconnected():
            page = await anyio.to_thread.run_sync(_page, url, cursor.position)
            by_id = {e["id"]: e for e in page}
            for event_id in cursor.take(sorted(by_id)):
                if model is None or by_id[event_id]["model"] == model:
                    yield sse.frame(by_id[event_id])
                    last_sent = loop.time()
            if len(page) == PAGE and not cursor.waiting:
                continue  # a backlog: read on before sleeping
            if loop.time() - last_sent >= sse.HEARTBEAT:
                yield sse.comment()
                last_sent = loop.time()
            quiet = max(0.0, sse.HEARTBEAT - (loop.time() - last_sent))
            await wait(min(POLL_GAP if cursor.waiting else quiet, quiet))


@contextlib.asynccontextmanager
async def _waker(settings: Settings) -> AsyncIterator[Any]:
    """``await wait(timeout)``: returns at a pub/sub notice (Redis) or after the poll interval."""
    if settings.embedded_broker or not settings.effective_broker_url.startswith(("redis://", "rediss://",
                                                                                 "sentinel://")):
        async def poll(timeout: float) -> None:
            await asyncio.sleep(min(timeout, POLL_EMBEDDED))
        yield poll
        return
    import redis.asyncio as aioredis

    from monitor import redis_clients

    client = redis_clients.async_client(settings.effective_broker_url, settings.sentinel_master,
                                        socket_connect_timeout=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(outbox.CHANNEL)
    except (OSError, aioredis.RedisError) as exc:
        logger.warning("event stream cannot subscribe to %s (%s); polling the table instead", outbox.CHANNEL, exc)
        await client.aclose()

        async def fallback(timeout: float) -> None:
            await asyncio.sleep(min(timeout, POLL_EMBEDDED))
        yield fallback
        return

    async def notice(timeout: float) -> None:
        try:
            await pubsub.get_message(timeout=min(timeout, POLL_REDIS))
        except (OSError, aioredis.RedisError) as exc:  # Redis went away: poll until it is back
            logger.warning("event stream lost its subscription (%s); polling", exc)
            await asyncio.sleep(min(timeout, POLL_EMBEDDED))

    try:
        yield notice
    finally:
        with contextlib.suppress(Exception):  # closing a dead connection must not mask the stream's end
            await pubsub.aclose()
            await client.aclose()
