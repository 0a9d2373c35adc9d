"""The event outbox behind the live stream (``GET /v1/events``, ``monitor.events``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, BigId, utcnow


class Event(Base):
    """The outbox of the live stream: one row per change a dashboard should see at once.

    Written by ``monitor.events.record`` in the same transaction as the change, so an event exists
    if and only if its change committed. The id is the stream's cursor (SSE ``Last-Event-ID``);
    AUTOINCREMENT on SQLite so pruning the newest rows can never hand an id out twice.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_at", "at"), Index("ix_events_model_id", "model", "id"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    type: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
