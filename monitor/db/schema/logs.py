"""What serving logs: predictions, labels, user interactions, the rows quarantined at
ingestion, and the window rows a check run snapshots.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, BigId, utcnow


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("model_id", "request_id", name="uq_predictions_model_request"),
        Index("ix_predictions_model_ts", "model_id", "ts"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[dt.datetime]
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prediction: Mapped[Any] = mapped_column(JSON)
    score: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("model_id", "request_id", name="uq_labels_model_request"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[Any] = mapped_column(JSON)
    ts: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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


class WindowRow(Base):
    """The rows a check run froze: one per prediction in its window, with the label it had then.

    Ids alone cannot freeze a window on PostgreSQL (an id is taken at INSERT but visible at COMMIT,
    so a lower id can appear after the freeze); the set of row ids, copied inside the database,
    can. Deleted when the run's report is written.
    """

    __tablename__ = "window_rows"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    prediction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    label_id: Mapped[int | None] = mapped_column(BigInteger)
