"""Request-size limits for endpoints that take a body: refuse before parsing, say which limit.

A body larger than ``MODELWATCH_MAX_BODY_BYTES`` is refused with 413 as soon as that is known:
from ``Content-Length`` before a byte is read, or while streaming a chunked body, so an oversized
request never gets parsed or held whole in memory. Any router that reads a JSON body can use
:func:`read_json_body`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from monitor.config import Settings


def too_large(size: str, limit: int) -> HTTPException:
    return HTTPException(413, f"request body is {size} bytes; the limit is {limit} bytes "
                              "(MODELWATCH_MAX_BODY_BYTES): send smaller batches")


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
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise too_large(f"more than {limit}", limit)
    return bytes(received)


async def read_json_body(request: Request, settings: Settings) -> Any:
    """The parsed JSON body within the size limit; 400 naming the position if it is not JSON."""
    body = await read_limited_body(request, settings.max_body_bytes)
    if not body.strip():
        raise HTTPException(400, "empty request body; expected a JSON object")
    try:
        return await run_in_threadpool(json.loads, body)  # a 10 MiB parse must not stall other requests
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"request body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise HTTPException(400, f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise HTTPException(400, "request body nests JSON too deeply") from None


class DeclaredBodyLimit:
    """ASGI middleware: any request whose ``Content-Length`` exceeds the limit gets 413 at once,
    whatever the endpoint, before the application reads a byte. (A chunked body declares no
    length; endpoints that read bodies use :func:`read_limited_body`, which counts as it reads.)"""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.limit:
                from fastapi.responses import JSONResponse

                detail = too_large(declared.decode(), self.limit).detail
                await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)
