"""Models, their versions and each version's reference profile: what is monitored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db.schema.base import Base, utcnow


class Model(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    task: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]]
    every_seconds: Mapped[float] = mapped_column(Float)
    window_seconds: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32), default="builtin")
    status: Mapped[str] = mapped_column(String(16), default="registered")
    serving: Mapped[bool] = mapped_column(Boolean, default=False)
    promoted_at: Mapped[dt.datetime | None]
    artifact: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReferenceProfile(Base):
    __tablename__ = "reference_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), unique=True
    )
    rows: Mapped[int] = mapped_column(Integer)
    profile: Mapped[dict[str, Any]]
    baseline_kpis: Mapped[dict[str, Any]]
    #: ``monitor.drift.DriftReference.to_bytes()``: sorted numeric columns and category counts.
    drift_reference: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
