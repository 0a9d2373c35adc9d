"""What serving logs: prediction and label segments (their rows live in Parquet files, see
``monitor.logstore``), user interactions, the rows quarantined at ingestion, and the segments a
check run froze.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, BigId, utcnow


class LogSegment(Base):
    """One immutable Parquet file of prediction or label rows (``monitor.logstore``).

    Written per stored batch and version, before this row commits: a crash leaves at worst an
    orphan file, never a row counted here but missing. ``checksum`` (sha256) and ``bytes`` are
    verified at every read, so a lost or changed file fails the stage instead of giving fewer rows.
    """

    __tablename__ = "log_segments"
    __table_args__ = (Index("ix_log_segments_model_kind_ts", "model_id", "kind", "min_ts"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(64))
    min_ts: Mapped[dt.datetime | None]
    max_ts: Mapped[dt.datetime | None]
    rows: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LogKey(Base):
    """Every request id a model has stored, per kind: the exact duplicate count across batches
    (a batch's rows whose key is already here are duplicates and are not written again)."""

    __tablename__ = "log_keys"
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class Interaction(Base):
    """A user's reaction to a served prediction (click, conversion, feedback), joined to the
    prediction by request id. One request may have many events; the same event of a request at the
    same moment is one row, so a re-sent batch counts as duplicates."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("model_id", "request_id", "event", "ts", name="uq_interactions_model_request_event_ts"),
        Index("ix_interactions_model_ts", "model_id", "ts"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    ts: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QuarantinedRow(Base):
    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(512))
    row_number: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    row: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WindowSegment(Base):
    """The segments a check run froze: the window is exactly the rows of these files.

    Segments are immutable, so their list, copied inside the database in the run's transaction,
    freezes the window: segments committed later are not in it, however often a stage is retried.
    Deleted when the run's report is written.
    """

    __tablename__ = "window_segments"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    segment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
