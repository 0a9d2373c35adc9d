"""Server-Sent Events framing and the stream's cursor, free of I/O so unit tests can pin them down.

The wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html)::

    id: 42
    event: alert.fired
    data: {"id":42,"type":"alert.fired","at":"2026-12-03T04:15:20.123456Z","model":"fraud",...}

    : heartbeat

A browser's ``EventSource`` reconnects on its own and sends the last ``id:`` it saw as the
``Last-Event-ID`` header; the stream resumes after it.

Why a cursor with a grace period: on PostgreSQL an id is taken from a sequence when the row is
inserted, but transactions commit in any order, so event 11 can be visible while event 10 is
still uncommitted. Handing out 11 would move the client's ``Last-Event-ID`` past 10 for good.
:class:`Cursor` therefore hands out ids only in unbroken order and waits at a gap; a gap still
open after ``grace`` seconds is an id whose transaction rolled back (sequences never give an id
back) and is skipped. SQLite serialises writers and reuses a rolled-back id, so it needs no
grace at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

HEARTBEAT = 15.0  # seconds between comments on a quiet stream (keeps proxies from closing it)
RETRY_MS = 2000  # the browser's reconnection delay
POSTGRES_GRACE = 5.0


def frame(event: dict[str, Any]) -> str:
    """One event as an SSE message; ``event`` is ``monitor.events.to_json`` output.

    >>> frame({"id": 3, "type": "run.finished", "model": "fraud"})
    'id: 3\\nevent: run.finished\\ndata: {"id":3,"type":"run.finished","model":"fraud"}\\n\\n'
    """
    data = json.dumps(event, separators=(",", ":"), default=str)  # one line: JSON escapes newlines
    return f"id: {int(event['id'])}\nevent: {event['type']}\ndata: {data}\n\n"


def comment(text: str = "heartbeat") -> str:
    """A comment line: ignored by ``EventSource``, but it proves the connection is alive."""
    return f": {text.replace(chr(10), ' ')}\n\n"


def preamble() -> str:
    """The first bytes of every stream: the reconnection delay, and a comment so headers flush."""
    return f"retry: {RETRY_MS}\n: connected\n\n"


def resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """Where to resume: the ``Last-Event-ID`` header wins over ``?after=``; None means "from now".

    >>> resume_point("41", 7), resume_point(None, 7), resume_point(None, None)
    (41, 7, None)
    """
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > 2**63 - 1:
            raise ValueError(f"Last-Event-ID {last_event_id[:32]!r} is not an event id (an integer 0..2**63-1)")
        return int(text)
    return after


class Cursor:
    """The highest id handed out, advanced only over ids that can no longer be preceded.

    >>> cursor = Cursor(9, grace=5.0, clock=lambda: 0.0)
    >>> cursor.take([10, 12])     # 11 may still commit: hold 12 back
    [10]
    >>> cursor.clock = lambda: 6.0
    >>> cursor.take([12])         # 11 never came within the grace: it rolled back
    [12]
    """

    def __init__(self, position: int, *, grace: float, clock: Callable[[], float] = time.monotonic):
        self.position, self.grace, self.clock = position, grace, clock
        self._gap: tuple[int, float] | None = None  # (the missing id, when it was first seen missing)

    @property
    def waiting(self) -> bool:
        """Is an event held back behind a gap (so the caller should look again soon)?"""
        return self._gap is not None

    def take(self, ids: Iterable[int]) -> list[int]:
        """Of ``ids`` (ascending, all above ``position``), those that may be handed out now."""
        taken: list[int] = []
        for event_id in ids:
            if event_id <= self.position:
                continue
            expected = self.position + 1
            if event_id != expected and not self._gap_expired(expected):
                break
            taken.append(event_id)
            self.position, self._gap = event_id, None
        return taken

    def _gap_expired(self, expected: int) -> bool:
        if self.grace <= 0:
            return True
        now = self.clock()
        if self._gap is None or self._gap[0] != expected:
            self._gap = (expected, now)
        return now - self._gap[1] >= self.grace
