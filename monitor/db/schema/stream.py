"""What the streaming detectors remember between ticks (``monitor.stream``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, utcnow


class StreamState(Base):
    """What the streaming detectors remember between ticks (``monitor.stream``).

    ``key = "cursor"`` holds the id of the last prediction read (and ids skipped while their
    transaction was still open); ``key = "model:<id>"`` holds one model's detector states, its
    unfinished chunk and its alarms. ``revision`` is the claim: a tick bumps the cursor row's
    revision with a conditional UPDATE first, so two ticks never read the same rows.
    """

    __tablename__ = "stream_states"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
