"""What the dashboard's overview and alerts page read, as JSON: the fleet's health and the open
alerts grouped by cause.

The dashboard talks only to the JSON API; these reads exist because a page needs, in one request,
what the generic endpoints spread over many (the health word of every model, acknowledgements next
to alerts). The fleet read uses a fixed number of queries whatever the number of models, so the
overview stays fast at 1,000 models (measured in tests/integration/test_dashboard.py). Health
follows ``modelwatch status`` (``monitor.alerts.lifecycle.health_of``). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import OPEN_STATES, health_of, list_alerts  # noqa: F401 (health_of: re-exported for tests)
from monitor.db.schema import Alert, AuditEvent, CheckRun, KpiValue, Model, ModelVersion, RecoveryAction
from monitor.recovery.schedule import PENDING
from monitor.store import models as store_models
from monitor.store.decisions import latest_decisions

#: the KPIs an overview tile shows, per task, then the service ones; the first four with data win
KEY_KPIS = {
    "binary_classification": ("recall", "precision", "f1", "roc_auc"),
    "multiclass_classification": ("accuracy", "f1_macro", "recall_macro", "precision_macro"),
    "regression": ("mae", "rmse", "r2"),
}
SERVICE_KEY_KPIS = ("latency_p95_ms", "error_rate")
TILE_KPIS = 4


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def next_action(actions: list[RecoveryAction]) -> RecoveryAction | None:
    """The action a person should look at first: awaiting approval, else the soonest due."""
    pending = [a for a in actions if a.state in PENDING]
    return min(pending, key=lambda a: (PENDING.index(a.state), a.eta), default=None)


def acknowledgements(session: Session, alerts: list[Alert]) -> dict[int, AuditEvent]:
    """Alert id -> its latest ``acknowledge`` audit event (subject ``alert:<id>``)."""
    found = latest_decisions(session, "acknowledge", [f"alert:{a.id}" for a in alerts])
    return {a.id: found[f"alert:{a.id}"] for a in alerts if f"alert:{a.id}" in found}


def session_info(principal, auth_on: bool, version: str) -> dict[str, Any]:
    return {"auth": auth_on, "actor": principal.actor, "can_write": principal.can_write, "version": version}


def fleet(session: Session) -> dict[str, Any]:
    """Every model's health word, headline KPIs and next recovery action, plus open alerts grouped by cause."""
    models = list(session.scalars(select(Model).order_by(Model.name)))
    names = {m.id: m.name for m in models}
    newest = (select(CheckRun.model_id, func.max(CheckRun.created_at).label("at"))
              .group_by(CheckRun.model_id).subquery("newest"))
    last: dict[int, CheckRun] = {}
    for run in session.scalars(select(CheckRun).join(
            newest, (CheckRun.model_id == newest.c.model_id) & (CheckRun.created_at == newest.c.at))):
        last[run.model_id] = run
    open_alerts: dict[int, list[Alert]] = defaultdict(list)
    for alert in session.scalars(select(Alert).where(Alert.state.in_(OPEN_STATES))):
        open_alerts[alert.model_id].append(alert)
    actions: dict[int, list[RecoveryAction]] = defaultdict(list)
    for action in session.scalars(select(RecoveryAction).where(RecoveryAction.state.in_(PENDING))):
        actions[action.model_id].append(action)
    serving = {v.model_id: v.version for v in store_models_serving(session)}
    kpis = headline_kpis(session, {m.id: m.task for m in models}, {k: r.id for k, r in last.items()})
    cards = []
    for model in models:
        run, alerts = last.get(model.id), open_alerts.get(model.id, [])
        action = next_action(actions.get(model.id, []))
        cards.append({
            "name": model.name, "task": model.task, "health": health_of(run, alerts),
            "serving_version": serving.get(model.id),
            "last_run": {"id": run.id, "status": run.status, "at": iso(run.finished_at or run.created_at)} if run else None,
            "open_alerts": len(alerts), "critical": sum(a.severity == "critical" for a in alerts),
            "kpis": kpis.get(model.id, []),
            "next_action": {"id": action.id, "kind": action.kind, "state": action.state, "eta": iso(action.eta)}
            if action else None,
        })
    all_open = [a for group in open_alerts.values() for a in group]
    return {"models": cards, "groups": groups(all_open, names)}


def store_models_serving(session: Session):
    return session.scalars(select(ModelVersion).where(ModelVersion.serving.is_(True)))


def headline_kpis(session: Session, tasks: dict[int, str], runs: dict[int, str]) -> dict[int, list[dict]]:
    """Up to four headline KPIs of each model's last run, read in one query."""
    if not runs:
        return {}
    found: dict[int, dict[str, float | None]] = defaultdict(dict)
    for model_id, name, value in session.execute(
            select(KpiValue.model_id, KpiValue.name, KpiValue.value)
            .where(KpiValue.run_id.in_(list(runs.values())), KpiValue.segment == "")):
        found[model_id][name] = value
    out = {}
    for model_id, values in found.items():
        wanted = [*KEY_KPIS.get(tasks.get(model_id, ""), ()), *SERVICE_KEY_KPIS]
        out[model_id] = [{"name": n, "value": values[n]} for n in wanted if values.get(n) is not None][:TILE_KPIS]
    return out


def groups(alerts: list[Alert], names: dict[int, str]) -> list[dict[str, Any]]:
    """Open alerts by cause (rule and kind): one broken upstream feed is one row, not forty."""
    by_cause: dict[tuple[str, str], list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_cause[(alert.kind, alert.rule)].append(alert)
    rows = [{"kind": kind, "rule": rule, "count": len(group),
             "severity": "critical" if any(a.severity == "critical" for a in group) else "warning",
             "models": sorted({names.get(a.model_id, f"#{a.model_id}") for a in group}),
             "alerts": sorted(a.id for a in group), "since": iso(min(a.first_seen for a in group))}
            for (kind, rule), group in by_cause.items()]
    return sorted(rows, key=lambda g: (g["severity"] != "critical", -g["count"], g["rule"]))


def alert_json(alert: Alert, model: str, ack) -> dict[str, Any]:
    return {"id": alert.id, "model": model, "rule": alert.rule, "kind": alert.kind, "segment": alert.segment,
            "state": alert.state, "open": alert.state in OPEN_STATES, "severity": alert.severity,
            "message": alert.message, "value": alert.value, "baseline": alert.baseline,
            "first_seen": iso(alert.first_seen), "last_seen": iso(alert.last_seen),
            "resolved_at": iso(alert.resolved_at),
            "ack": {"actor": ack.actor, "at": iso(ack.at), "reason": ack.reason} if ack else
            ({"actor": alert.acknowledged_by, "at": iso(alert.acknowledged_at), "reason": ""}
             if alert.acknowledged_at else None)}


def alerts_page(session: Session, recent: int = 50) -> dict[str, Any]:
    """Open alerts of every model (critical first, oldest first), grouped too, then recently resolved ones."""
    names = {m.id: m.name for m in store_models.list_models(session)}
    firing = sorted(list_alerts(session, open_only=True, limit=1000),
                    key=lambda a: (a.severity != "critical", a.first_seen))
    closed = [a for a in list_alerts(session, limit=recent * 2) if a.state not in OPEN_STATES][:recent]
    acks = acknowledgements(session, [*firing, *closed])
    row = lambda a: alert_json(a, names.get(a.model_id, f"#{a.model_id}"), acks.get(a.id))  # noqa: E731
    return {"open": [row(a) for a in firing], "recent": [row(a) for a in closed], "groups": groups(firing, names)}
