"""Prometheus exposition built from the database on each scrape.

Reading the state (not process-local counters) is what makes ``/metrics`` identical whichever
of several API processes answers the scrape. Counts are written for every combination a rule or
panel may select (each model x severity, each model x recovery kind x state, ...) with 0 where
nothing matches: a missing series makes ``sum()`` empty and an alert on ``> 0`` silently unable
to resolve, where a 0 says "none".
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session

from frontdoors.api.metrics_events import EventCollector, recovery_kinds
from frontdoors.api.metrics_kpis import kpi_families
from monitor.alerts.policy import OPEN_STATES, SEVERITIES
from monitor.config import Settings
from monitor.recovery.schedule import PENDING
from monitor.store import overview

#: the states a check run passes through, in order
RUN_STATUSES = ("pending", "running", "succeeded", "failed")


class _StateCollector:
    def __init__(self, session: Session, names: dict[int, str]):
        self.session, self.names = session, names

    def collect(self):
        s, models = self.session, sorted(self.names.items(), key=lambda item: item[1])
        yield from kpi_families(overview.latest_kpis(s), self.names)
        alerts = GaugeMetricFamily("modelwatch_open_alerts", "Open alerts (firing or acknowledged)", labels=["model", "severity"])
        counts = {(m, sev): n for m, sev, n in overview.alert_counts(s, OPEN_STATES)}
        for model_id, name in models:
            for severity in sorted({*SEVERITIES, *(sev for m, sev in counts if m == model_id)}):
                alerts.add_metric([name, severity], counts.get((model_id, severity), 0))
        yield alerts
        pending = GaugeMetricFamily("modelwatch_pending_recovery_actions", "Recovery actions pending approval, scheduled or running",
                                    labels=["model", "kind", "state"])
        actions = {(m, kind, state): n for m, kind, state, n in overview.action_counts(s, PENDING)}
        for model_id, name in models:
            for kind in sorted({*recovery_kinds(), *(k for m, k, _ in actions if m == model_id)}):
                for state in PENDING:
                    pending.add_metric([name, kind, state], actions.get((model_id, kind, state), 0))
        yield pending
        runs = GaugeMetricFamily("modelwatch_check_runs", "Check runs by status", labels=["model", "status"])
        statuses = {(m, status): n for m, status, n in overview.run_counts(s)}
        for model_id, name in models:
            for status in [*RUN_STATUSES, *sorted({st for m, st in statuses if m == model_id} - set(RUN_STATUSES))]:
                runs.add_metric([name, status], statuses.get((model_id, status), 0))
        yield runs


def render(session: Session, settings: Settings | None = None) -> str:
    """The exposition text; with ``settings``, the Celery broker's queue depths too."""
    from frontdoors.api.metrics_broker import BrokerCollector
    from frontdoors.api.metrics_checks import CheckCollector

    names = overview.model_names(session)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StateCollector(session, names))
    registry.register(CheckCollector(session, names))
    registry.register(EventCollector(session, names))
    if settings is not None:
        registry.register(BrokerCollector(settings))
    return generate_latest(registry).decode()
