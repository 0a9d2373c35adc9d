"""Prometheus exposition built from the database on each scrape.

Reading the state (not process-local counters) is what makes ``/metrics`` identical whichever
of several API processes answers the scrape.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.policy import OPEN_STATES
from monitor.config import Settings
from monitor.db.schema import Alert, CheckRun, KpiValue, Model, RecoveryAction
from monitor.recovery.schedule import PENDING


class _StateCollector:
    def __init__(self, session: Session):
        self.session = session

    def collect(self):
        s = self.session
        names = dict(s.execute(select(Model.id, Model.name)).all())
        kpi = GaugeMetricFamily("modelwatch_kpi", "Latest KPI value of each model's last check",
                                labels=["model", "version", "kpi"])
        latest = (select(KpiValue.model_id, KpiValue.name, func.max(KpiValue.window_end).label("end"))
                  .where(KpiValue.segment == "").group_by(KpiValue.model_id, KpiValue.name).subquery())
        rows = s.execute(select(KpiValue).join(latest, (KpiValue.model_id == latest.c.model_id)
                                               & (KpiValue.name == latest.c.name)
                                               & (KpiValue.window_end == latest.c.end))
                         .where(KpiValue.segment == "")).scalars()
        seen = set()
        for value in rows:
            key = (value.model_id, value.name)
            if value.value is None or key in seen:
                continue
            seen.add(key)
            kpi.add_metric([names.get(value.model_id, "?"), value.version or "", value.name], value.value)
        yield kpi
        alerts = GaugeMetricFamily("modelwatch_open_alerts", "Open alerts (firing or acknowledged)", labels=["model", "severity"])
        for model_id, severity, count in s.execute(select(Alert.model_id, Alert.severity, func.count())
                                                   .where(Alert.state.in_(OPEN_STATES))
                                                   .group_by(Alert.model_id, Alert.severity)):
            alerts.add_metric([names.get(model_id, "?"), severity], count)
        yield alerts
        pending = GaugeMetricFamily("modelwatch_pending_recovery_actions", "Recovery actions pending approval, scheduled or running",
                                    labels=["model", "kind", "state"])
        for model_id, kind, state, count in s.execute(
                select(RecoveryAction.model_id, RecoveryAction.kind, RecoveryAction.state, func.count())
                .where(RecoveryAction.state.in_(PENDING))
                .group_by(RecoveryAction.model_id, RecoveryAction.kind, RecoveryAction.state)):
            pending.add_metric([names.get(model_id, "?"), kind, state], count)
        yield pending
        runs = GaugeMetricFamily("modelwatch_check_runs", "Check runs by status", labels=["model", "status"])
        for model_id, status, count in s.execute(select(CheckRun.model_id, CheckRun.status, func.count())
                                                 .group_by(CheckRun.model_id, CheckRun.status)):
            runs.add_metric([names.get(model_id, "?"), status], count)
        yield runs


def render(session: Session, settings: Settings | None = None) -> str:
    """The exposition text; with ``settings``, the Celery broker's queue depths too."""
    from frontdoors.api.metrics_broker import BrokerCollector
    from frontdoors.api.metrics_checks import CheckCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StateCollector(session))
    registry.register(CheckCollector(session, dict(session.execute(select(Model.id, Model.name)).all())))
    if settings is not None:
        registry.register(BrokerCollector(settings))
    return generate_latest(registry).decode()
