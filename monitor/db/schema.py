"""The tables. Every uniqueness the design relies on for idempotency is a database constraint.

* ``check_runs.dedup_key``: one (model, version, window) is checked once.
* ``predictions``/``labels`` ``(model_id, request_id)``: a re-sent row is a duplicate, not a second row.
* ``alerts``: at most one open (``firing`` or ``acknowledged``) alert per (model, rule, segment)
  (partial unique index).
* ``notifications.dedup_key``: one grouped notification per (run, channel); ``notification_alerts``
  lists the alert transitions it carries.
* ``recovery_actions``: at most one pending (awaiting approval, scheduled or running) action per
  (model, kind) (partial unique index), and
  the ``scheduled -> running`` transition is a conditional UPDATE (see ``monitor.store``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: the same on SQLite (no time zones) and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: modelwatch stores UTC, pass an aware datetime")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# A 64-bit id on PostgreSQL that is still SQLite's INTEGER PRIMARY KEY (its rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, dt.datetime: UTCDateTime}


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


class CheckRun(Base):
    __tablename__ = "check_runs"
    __table_args__ = (Index("ix_check_runs_model_created", "model_id", "created_at"),)
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


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open",
            "model_id",
            "rule",
            "segment",
            unique=True,
            sqlite_where=text("state IN ('firing', 'acknowledged')"),
            postgresql_where=text("state IN ('firing', 'acknowledged')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    segment: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    clean_checks: Mapped[int] = mapped_column(Integer, default=0)
    first_run_id: Mapped[str] = mapped_column(String(32))
    last_run_id: Mapped[str] = mapped_column(String(32))
    last_window_end: Mapped[dt.datetime]
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    transition: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(256), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


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


class Report(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    summary: Mapped[dict[str, Any]]
    html: Mapped[str] = mapped_column(Text, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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


class Silence(Base):
    """Hold notifications of the alerts that match every matcher set here, until ``ends_at``.

    Matchers left empty match anything; at least one is set (``monitor.alerts.silences``).
    Expiring a silence early sets ``ends_at`` to now, so the row stays as history.
    """

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_ends_at", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str | None] = mapped_column(String(128))
    rule: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str | None] = mapped_column(String(16))
    starts_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[dt.datetime]
    comment: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotificationAlert(Base):
    """One alert transition (``firing``, ``repeat``, ``resolved``) carried by a grouped notification."""

    __tablename__ = "notification_alerts"
    notification_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    transition: Mapped[str] = mapped_column(String(16))


class DeliveryAttempt(Base):
    """One try at delivering a notification: when, how it ended, and what the peer answered."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (UniqueConstraint("notification_id", "attempt", name="uq_delivery_attempts_notification_attempt"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("notifications.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    #: ``sending`` while in flight, then ``sent``, ``retry``, ``failed`` or ``lost`` (the sender died).
    outcome: Mapped[str] = mapped_column(String(16), default="sending")
    error: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)


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
