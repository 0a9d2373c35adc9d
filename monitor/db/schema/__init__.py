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

The tables live in one module per area (``base``: the shared types and ``Base``; ``models``,
``logs``, ``runs``, ``alerts``, ``decisions``, ``service``, ``events``, ``stream``); this module re-exports them all, so
``from monitor.db.schema import CheckRun`` and Alembic's ``Base.metadata`` (every table) work
as before.
"""

from monitor.db.schema.alerts import Alert, DeliveryAttempt, Notification, NotificationAlert, Silence
from monitor.db.schema.base import NAMING, Base, BigId, UTCDateTime, utcnow
from monitor.db.schema.decisions import AuditEvent, RecoveryAction, RegistryDelivery
from monitor.db.schema.events import Event
from monitor.db.schema.logs import Interaction, LogKey, LogSegment, QuarantinedRow, WindowSegment
from monitor.db.schema.models import Model, ModelVersion, ReferenceProfile
from monitor.db.schema.runs import CheckRun, Finding, KpiValue, Report
from monitor.db.schema.service import HostMetric, ProbeResult
from monitor.db.schema.stream import StreamState

__all__ = [
    "NAMING", "Alert", "AuditEvent", "Base", "BigId", "CheckRun", "DeliveryAttempt", "Event", "Finding", "HostMetric",
    "Interaction", "KpiValue", "LogKey", "LogSegment", "Model", "ModelVersion", "Notification", "NotificationAlert",
    "ProbeResult", "QuarantinedRow", "RecoveryAction", "ReferenceProfile", "RegistryDelivery",
    "Report", "Silence", "StreamState", "UTCDateTime", "WindowSegment", "utcnow",
]
