"""The request-level edge every route sits behind: what no handler should ever have to meet.

:class:`RequestGuard` (ASGI middleware) answers before any route runs:

* **400** for a NUL character in the path or the query string (``GET /v1/models/%00``):
  PostgreSQL cannot hold one in text, and no name or filter of modelwatch contains one;
* **413** for a body over ``MODELWATCH_MAX_BODY_BYTES``: from ``Content-Length`` before a byte is
  read, or while counting a chunked body;
* **400** for a JSON body that is not UTF-8, or that nests arrays/objects deeper than
  :data:`monitor.storable.MAX_JSON_DEPTH` (found without parsing, so no ``RecursionError``);
* **422** for a JSON body of a form-like route (silences, acknowledgements, decisions, host
  samples...) with a NUL or a lone surrogate in any string, naming the field.

Batch routes (predictions, labels, interactions) are spared only the last check, and a batch sent
as an Arrow IPC stream (``Content-Type: application/vnd.apache.arrow.stream``) is not JSON, so it
meets only the size limit here: a bad string
in one row is that row's problem, quarantined with its reason by ``monitor.ingest`` while the
good rows are stored. The registry hook reads its own raw body (it must verify the signature
over exactly those bytes first) and checks it in ``monitor.registry.hook``.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from monitor.storable import MAX_JSON_DEPTH, json_depth, unstorable

ROW_ROUTES = re.compile(r"^/v1/models/[^/]+/(predictions|labels|interactions)/?$")
RAW_BODY_ROUTES = ("/v1/hooks/",)
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ARROW_STREAM = "application/vnd.apache.arrow.stream"
#: Bodies above this are checked off the event loop (the check of 10 MiB takes about half a second).
INLINE_CHECK_BYTES = 64 * 1024


class Refused(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def too_large_detail(size: str, limit: int) -> str:
    return (f"request body is {size} bytes; the limit is {limit} bytes (MODELWATCH_MAX_BODY_BYTES): "
            "send smaller batches")


def url_problem(scope) -> str | None:
    """Why the request's path or query cannot be served, or None."""
    if "\x00" in scope.get("path", ""):
        return "the path contains a NUL character (%00); no name or id in modelwatch has one"
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        return "the query string contains a NUL character (%00); no filter in modelwatch has one"
    return None


def is_json(headers: dict[bytes, bytes]) -> bool:
    """FastAPI parses a body as JSON when it says so, or when it says nothing at all."""
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return not kind or kind == b"application/json" or kind.endswith(b"+json")


def is_arrow(headers: dict[bytes, bytes]) -> bool:
    """An Arrow IPC stream body (``POST .../predictions`` and ``.../labels`` take one)."""
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind == ARROW_STREAM.encode()


def body_problem(body: bytes, check_strings: bool) -> Refused | None:
    """What is wrong with a JSON body as a whole, or None (a parse error is left to the route)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Refused(400, f"request body is not UTF-8 text ({exc.reason} at byte {exc.start})")
    if json_depth(body) > MAX_JSON_DEPTH:
        return Refused(400, f"request body nests arrays/objects more than {MAX_JSON_DEPTH} levels deep")
    if check_strings:
        try:
            document = json.loads(body)
        except ValueError:
            return None  # the route answers 422 with the parser's position
        problem = unstorable(document)
        if problem:
            return Refused(422, f"request body field {problem}")
    return None


class RequestGuard:
    """ASGI middleware: the checks in this module's docstring, then the app with the body replayed."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._checked(scope, receive)
        except Refused as refused:
            await JSONResponse({"detail": refused.detail}, status_code=refused.status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _checked(self, scope, receive):
        problem = url_problem(scope)
        if problem:
            raise Refused(400, problem)
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            raise Refused(413, too_large_detail(declared.decode(), self.limit))
        path = scope.get("path", "")
        batch = ROW_ROUTES.match(path) is not None  # parsed as JSON whatever its Content-Type says...
        if batch and is_arrow(headers):  # ...except an Arrow IPC stream: binary, read by the route
            return receive
        if scope.get("method") not in BODY_METHODS or path.startswith(RAW_BODY_ROUTES) or not (batch or is_json(headers)):
            return receive
        body = await self._read(receive)
        if body.strip():
            check_strings = not batch
            if len(body) > INLINE_CHECK_BYTES:
                refused = await run_in_threadpool(body_problem, body, check_strings)
            else:
                refused = body_problem(body, check_strings)
            if refused:
                raise refused
        return _replay(body, receive)

    async def _read(self, receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.limit:
                raise Refused(413, too_large_detail(f"more than {self.limit}", self.limit))
            if not message.get("more_body", False):
                return b"".join(chunks)  # one copy of the body, not one per growth of a buffer


def _replay(body: bytes, receive):
    """A ``receive`` that hands the app the body already read, then waits on the real one."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
