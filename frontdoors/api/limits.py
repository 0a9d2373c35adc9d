"""Reading a JSON body in a route: within the size limit, with the reason when it is refused.

Every request passes ``frontdoors.api.guard.RequestGuard`` first (413 from ``Content-Length``,
400 for a body nested too deep or not UTF-8); :func:`read_json_body` is the route-side reader
that counts again as it reads and parses off the event loop (with orjson, giving exactly what
``json.loads`` gives: :mod:`frontdoors.api.jsonbody`).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from frontdoors.api.jsonbody import loads
from monitor.config import Settings


def too_large(size: str, limit: int) -> HTTPException:
    from frontdoors.api.guard import too_large_detail

    return HTTPException(413, too_large_detail(size, limit))


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, or 413 once it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise HTTPException(400, f"Content-Length {declared[:40]!r} is not a number") from None
        if length > limit:
            raise too_large(str(length), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large(f"more than {limit}", limit)
    return b"".join(chunks)  # one copy; none for the one chunk the request guard replays


async def read_json_body(request: Request, settings: Settings) -> Any:
    """The parsed JSON body within the size limit; 400 naming the position if it is not JSON."""
    return (await read_json_document(request, settings))[1]


async def read_json_document(request: Request, settings: Settings) -> tuple[bytes, Any]:
    """The raw body and its parsed JSON, within the size limit; 400 naming the position if it is
    not JSON. (The ingest routes look at the raw text again: see ``routes/ingest.py``.)"""
    body = await read_limited_body(request, settings.max_body_bytes)
    return body, await parse_json_document(body)


async def parse_json_document(body: bytes) -> Any:
    """The parsed JSON of a body already read; 400 naming the position if it is not JSON."""
    if not body.strip():
        raise HTTPException(400, "empty request body; expected a JSON object")
    try:
        return await run_in_threadpool(loads, body)  # a 10 MiB parse must not stall other requests
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"request body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise HTTPException(400, f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise HTTPException(400, "request body nests JSON too deeply") from None
