"""Decisions and their trail: recovery actions, registry deliveries (webhook events
received from a model registry) and the audit trail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, BigId, utcnow


class RecoveryAction(Base):
    __tablename__ = "recovery_actions"
    __table_args__ = (
        Index(
            "uq_recovery_actions_pending",
            "model_id",
            "kind",
            unique=True,
            sqlite_where=text("state IN ('pending_approval', 'scheduled', 'running')"),
            postgresql_where=text("state IN ('pending_approval', 'scheduled', 'running')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    run_id: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    eta: Mapped[dt.datetime]
    celery_task_id: Mapped[str | None] = mapped_column(String(64))
    dispatched_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    executions: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: ``pending_approval`` ends here: the sweeper marks the action ``expired`` (migration 0008).
    expires_at: Mapped[dt.datetime | None]
    #: The follow-up check: ``due`` at ``verify_at``, then ``checking``, then ``recovered``,
    #: ``not_recovered`` or ``inconclusive``; ``verification`` holds its run id and evidence.
    verify_at: Mapped[dt.datetime | None]
    verification_state: Mapped[str | None] = mapped_column(String(16))
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RegistryDelivery(Base):
    """One verified delivery to the registry hook (``POST /v1/hooks/registry``).

    The unique ``(source, delivery_id)`` is the replay guard: MLflow retries a delivery with the
    same id, and a captured request re-sent within the signature's time tolerance is refused as a
    duplicate instead of enqueueing a second check.
    """

    __tablename__ = "registry_deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_registry_deliveries_source_delivery"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32), default="received")
    detail: Mapped[str] = mapped_column(Text, default="")
    task_id: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(Base):
    """A human or automatic decision: who (token name, OS user or ``system``), when, what, and why.

    Compliance reviews ask "who silenced this, who approved that retrain"; the answer is a row
    here, written in the same transaction as the decision it records.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_model_at", "model_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
