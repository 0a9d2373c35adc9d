"""Reading the event stream's generator (``frontdoors.api.routes.events._follow``) without HTTP."""

from __future__ import annotations

import asyncio

from frontdoors.api import sse
from frontdoors.api.routes import events as routes


class Disconnecting:
    """Stands for the HTTP request: connected for ``polls`` looks, then gone."""

    def __init__(self, polls: int):
        self.polls = polls

    async def is_disconnected(self) -> bool:
        self.polls -= 1
        return self.polls < 0


def follow(settings, cursor: sse.Cursor, polls: int, model: str | None = None) -> list[str]:
    """The chunks the stream sends a client that stays for ``polls`` looks."""

    async def collect() -> list[str]:
        return [chunk async for chunk in routes._follow(Disconnecting(polls), settings, cursor, model)]

    return asyncio.run(collect())
