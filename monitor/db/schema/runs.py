"""Check runs and what they produce: KPI values, findings and the HTML report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, BigId, utcnow


#: The statuses of a run still in flight.
OPEN_STATUSES = ("pending", "running")
#: The same as SQL: the re-drive sweep's filter and ``ix_check_runs_open``'s predicate, spelled
#: identically so that both engines' planners see the index applies.
OPEN_RUN = f"status IN ({', '.join(repr(status) for status in OPEN_STATUSES)})"


class CheckRun(Base):
    __tablename__ = "check_runs"
    __table_args__ = (
        Index("ix_check_runs_model_created", "model_id", "created_at"),
        # The sweep reads the open runs every 30 s; the table keeps every run ever made.
        Index("ix_check_runs_open", "created_at", sqlite_where=text(OPEN_RUN), postgresql_where=text(OPEN_RUN)),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[str | None] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[dt.datetime]
    window_end: Mapped[dt.datetime]
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    stages: Mapped[dict[str, Any]] = mapped_column(default=dict)
    watermark: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    results: Mapped[dict[str, Any]] = mapped_column(default=dict)
    alerts_applied: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class KpiValue(Base):
    __tablename__ = "kpi_values"
    __table_args__ = (
        UniqueConstraint("run_id", "name", "segment", name="uq_kpi_values_run_name_segment"),
        Index("ix_kpi_values_model_name_window", "model_id", "name", "window_end"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(128), default="")
    value: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    window_end: Mapped[dt.datetime]


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("run_id", "rule", "segment", name="uq_findings_run_rule_segment"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    segment: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    metric: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Report(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    summary: Mapped[dict[str, Any]]
    html: Mapped[str] = mapped_column(Text, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
