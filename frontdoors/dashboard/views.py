"""What the overview and the alerts page show, read straight from the store.

Each function takes an open session and returns plain values (dataclasses of rows and SVG strings)
for a template; nothing here writes. Health follows ``modelwatch status``: a model with open
alerts is alerting (critical if any is critical), one whose last run failed is failed, one never
checked is unchecked, else ok.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import OPEN_STATES, health_of, list_alerts
from frontdoors.dashboard.charts import sparkline
from monitor.db.schema import Alert, AuditEvent, CheckRun, RecoveryAction
from monitor.recovery.schedule import PENDING, list_actions
from monitor.store import models as store_models, runs as store_runs
from monitor.store.decisions import latest_decisions

#: the KPIs an overview card shows, per task, then the service ones; the first few with data win
KEY_KPIS = {
    "binary_classification": ("recall", "precision", "f1", "roc_auc"),
    "multiclass_classification": ("accuracy", "f1_macro", "recall_macro", "precision_macro"),
    "regression": ("mae", "rmse", "r2"),
}
SERVICE_KEY_KPIS = ("latency_p95_ms", "error_rate")
CARD_KPIS = 4
#: recovery states a person can still act on, in the order they matter
PENDING_STATES = PENDING  # most urgent first: awaiting a person, then due, then running
SPARK_POINTS = 30


@dataclass(frozen=True)
class KpiTrend:
    name: str
    value: float | None
    spark: str


@dataclass(frozen=True)
class ModelCard:
    name: str
    task: str
    health: str
    serving_version: str | None
    last_run: CheckRun | None
    kpis: list[KpiTrend]
    open_alerts: list[Alert]
    next_action: RecoveryAction | None


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    model: str
    acknowledged: AuditEvent | None = None


@dataclass
class Overview:
    cards: list[ModelCard] = field(default_factory=list)

    @property
    def alerting(self) -> int:
        return sum(c.health in ("alerting", "critical") for c in self.cards)

    @property
    def open_alerts(self) -> int:
        return sum(len(c.open_alerts) for c in self.cards)

    @property
    def pending_actions(self) -> int:
        return sum(c.next_action is not None for c in self.cards)


def next_action(actions: list[RecoveryAction]) -> RecoveryAction | None:
    """The action a person should look at first: awaiting approval, else the soonest due."""
    pending = [a for a in actions if a.state in PENDING_STATES]
    return min(pending, key=lambda a: (PENDING_STATES.index(a.state), a.eta), default=None)


def overview(session: Session) -> Overview:
    page = Overview()
    for model in store_models.list_models(session):
        serving = store_models.serving_version(session, model.id)
        last = store_runs.latest_run(session, model.id)
        open_alerts = sorted(list_alerts(session, model.id, open_only=True),
                             key=lambda a: (a.severity != "critical", -a.id))  # critical first, then newest
        page.cards.append(ModelCard(
            name=model.name, task=model.task, health=health_of(last, open_alerts),
            serving_version=serving.version if serving else None, last_run=last,
            kpis=key_kpis(session, model.id, model.task), open_alerts=open_alerts,
            next_action=next_action(list_actions(session, model.id)),
        ))
    return page


def key_kpis(session: Session, model_id: int, task: str) -> list[KpiTrend]:
    """Up to CARD_KPIS of the task's headline KPIs (and p95 latency, error rate) that have data."""
    names = [*KEY_KPIS.get(task, ()), *SERVICE_KEY_KPIS]
    history = store_runs.kpi_history(session, model_id, names, limit=SPARK_POINTS)
    found = []
    for name in names:
        points = history.get(name) or []
        values = [v for _, v in points if v is not None]
        if values and len(found) < CARD_KPIS:
            found.append(KpiTrend(name, points[-1][1], sparkline(points, name)))
    return found


def alerts_page(session: Session, recent: int = 50) -> dict:
    """Open alerts of every model (most severe first), then recently resolved ones."""
    names = {m.id: m.name for m in store_models.list_models(session)}
    firing = sorted(list_alerts(session, open_only=True, limit=500),
                    key=lambda a: (a.severity != "critical", a.first_seen))
    closed = [a for a in list_alerts(session, limit=recent * 2) if a.state not in OPEN_STATES][:recent]
    acks = acknowledgements(session, [*firing, *closed])
    row = lambda a: AlertRow(a, names.get(a.model_id, f"#{a.model_id}"), acks.get(a.id))  # noqa: E731
    return {"open": [row(a) for a in firing], "recent": [row(a) for a in closed]}


def acknowledgements(session: Session, alerts: list[Alert]) -> dict[int, AuditEvent]:
    """Alert id -> its latest ``acknowledge`` audit event (subject ``alert:<id>``)."""
    found = latest_decisions(session, "acknowledge", [f"alert:{a.id}" for a in alerts])
    return {a.id: found[f"alert:{a.id}"] for a in alerts if f"alert:{a.id}" in found}


def relative(when: dt.datetime | None, now: dt.datetime) -> str:
    """'3 min ago' / 'in 2 h': how a person reads a schedule at a glance."""
    if when is None:
        return "never"
    seconds = (when - now).total_seconds()
    size = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if size >= length:
            amount = f"{size / length:.0f} {unit}"
            break
    else:
        return "just now" if size < 30 else ("in under a minute" if seconds > 0 else "under a minute ago")
    return f"in {amount}" if seconds > 0 else f"{amount} ago"
