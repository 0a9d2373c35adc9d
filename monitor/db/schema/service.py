"""Service monitoring: health probe results and host metric samples.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, BigId


class ProbeResult(Base):
    """One availability probe of a model's health URL (``service.health_url`` in the spec).

    ``slot`` is the probe's time slot (``ts // probe_every``): two beats or a redelivered probe
    for the same slot converge on one row, as two dispatches converge on one check run.
    """

    __tablename__ = "probe_results"
    __table_args__ = (
        UniqueConstraint("model_id", "slot", name="uq_probe_results_model_slot"),
        Index("ix_probe_results_model_ts", "model_id", "ts"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[dt.datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class HostMetric(Base):
    """One resource sample (psutil) of a host: a worker watching itself (``source='worker'``, no
    model) or ``modelwatch agent`` on a model's serving host (``source='agent'``, with the model).

    A re-sent sample (an agent retrying a push) has the same ``(host, source, ts)`` and is dropped.
    """

    __tablename__ = "host_metrics"
    __table_args__ = (
        UniqueConstraint("host", "source", "ts", name="uq_host_metrics_host_source_ts"),
        Index("ix_host_metrics_model_ts", "model_id", "ts"),
        Index("ix_host_metrics_host_ts", "host", "ts"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[dt.datetime]
    host: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(160))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    pid: Mapped[int | None] = mapped_column(Integer)
    cpu_pct: Mapped[float] = mapped_column(Float)
    memory_pct: Mapped[float] = mapped_column(Float)
    disk_pct: Mapped[float | None] = mapped_column(Float)
    rss_bytes: Mapped[int | None] = mapped_column(BigInteger)
