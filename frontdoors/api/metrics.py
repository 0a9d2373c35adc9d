"""Prometheus exposition built from the database on each scrape.

Reading the state (not process-local counters) is what makes ``/metrics`` identical whichever
of several API processes answers the scrape.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session

from monitor.alerts.policy import OPEN_STATES
from monitor.config import Settings
from monitor.recovery.schedule import PENDING
from monitor.store import overview


class _StateCollector:
    def __init__(self, session: Session):
        self.session = session

    def collect(self):
        s = self.session
        names = overview.model_names(s)
        kpi = GaugeMetricFamily("modelwatch_kpi", "Latest KPI value of each model's last check",
                                labels=["model", "version", "kpi"])
        for value in overview.latest_kpis(s):
            kpi.add_metric([names.get(value.model_id, "?"), value.version or "", value.name], value.value)
        yield kpi
        alerts = GaugeMetricFamily("modelwatch_open_alerts", "Open alerts (firing or acknowledged)", labels=["model", "severity"])
        for model_id, severity, count in overview.alert_counts(s, OPEN_STATES):
            alerts.add_metric([names.get(model_id, "?"), severity], count)
        yield alerts
        pending = GaugeMetricFamily("modelwatch_pending_recovery_actions", "Recovery actions pending approval, scheduled or running",
                                    labels=["model", "kind", "state"])
        for model_id, kind, state, count in overview.action_counts(s, PENDING):
            pending.add_metric([names.get(model_id, "?"), kind, state], count)
        yield pending
        runs = GaugeMetricFamily("modelwatch_check_runs", "Check runs by status", labels=["model", "status"])
        for model_id, status, count in overview.run_counts(s):
            runs.add_metric([names.get(model_id, "?"), status], count)
        yield runs


def render(session: Session, settings: Settings | None = None) -> str:
    """The exposition text; with ``settings``, the Celery broker's queue depths too."""
    from frontdoors.api.metrics_broker import BrokerCollector
    from frontdoors.api.metrics_checks import CheckCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StateCollector(session))
    registry.register(CheckCollector(session, overview.model_names(session)))
    if settings is not None:
        registry.register(BrokerCollector(settings))
    return generate_latest(registry).decode()
