"""The fleet at a glance: every model's health in a fixed number of queries, and open alerts by cause.

The overview must stay fast at 1,000 models, so nothing here loops over models with a query each:
:func:`fleet` runs five set-wise queries (models with their serving version, the latest run per
model by an index seek each, open alerts and pending actions counted by model, and the latest
run's whole-window KPIs), whatever the number of models. Health is the same word as
``modelwatch status`` (``monitor.alerts.lifecycle.health_of``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.policy import OPEN_STATES
from monitor.db.schema import Alert, CheckRun, KpiValue, Model, ModelVersion, RecoveryAction
from monitor.recovery.schedule import PENDING

SEVERITY_ORDER = ("critical", "warning", "info")


@dataclass(frozen=True)
class FleetRow:
    name: str
    task: str
    status: str
    health: str
    serving_version: str | None
    last_run_id: str | None
    last_run_status: str | None
    last_window_end: dt.datetime | None
    last_finished_at: dt.datetime | None
    open_alerts: dict[str, int]  # severity -> count
    pending_actions: int
    awaiting_approval: int
    kpis: dict[str, float | None] = field(default_factory=dict)


def health(last_status: str | None, open_alerts: dict[str, int]) -> str:
    """``critical`` / ``alerting`` / ``failed`` / ``ok`` / ``unchecked``, as ``lifecycle.health_of``.

    >>> health("succeeded", {"warning": 1}), health("failed", {}), health(None, {})
    ('alerting', 'failed', 'unchecked')
    """
    if open_alerts.get("critical"):
        return "critical"
    if any(open_alerts.values()):
        return "alerting"
    if last_status is None:
        return "unchecked"
    return "failed" if last_status == "failed" else "ok"


def fleet(session: Session) -> list[FleetRow]:
    """One row per model, sorted worst health first, then by name."""
    serving = (select(ModelVersion.model_id, ModelVersion.version)
               .where(ModelVersion.serving.is_(True)).subquery())
    models = session.execute(select(Model.id, Model.name, Model.task, Model.status, serving.c.version)
                             .outerjoin(serving, serving.c.model_id == Model.id)).all()
    # Each model's newest run by one index seek on (model_id, created_at): cost grows with the
    # number of models, not with the length of their history.
    newest = (select(CheckRun.id).where(CheckRun.model_id == Model.id)
              .order_by(CheckRun.created_at.desc(), CheckRun.id.desc()).limit(1).correlate(Model).scalar_subquery())
    latest_ids = select(newest).select_from(Model)
    latest = {r.model_id: r for r in session.execute(
        select(CheckRun.id, CheckRun.model_id, CheckRun.status, CheckRun.window_end, CheckRun.finished_at)
        .where(CheckRun.id.in_(latest_ids)))}
    alerts: dict[int, dict[str, int]] = defaultdict(dict)
    for model_id, severity, count in session.execute(
            select(Alert.model_id, Alert.severity, func.count()).where(Alert.state.in_(OPEN_STATES))
            .group_by(Alert.model_id, Alert.severity)):
        alerts[model_id][severity] = count
    actions: dict[int, dict[str, int]] = defaultdict(dict)
    for model_id, state, count in session.execute(
            select(RecoveryAction.model_id, RecoveryAction.state, func.count())
            .where(RecoveryAction.state.in_(PENDING)).group_by(RecoveryAction.model_id, RecoveryAction.state)):
        actions[model_id][state] = count
    kpis: dict[int, dict[str, float | None]] = defaultdict(dict)
    for model_id, name, value in session.execute(
            select(KpiValue.model_id, KpiValue.name, KpiValue.value)
            .where(KpiValue.run_id.in_(latest_ids), KpiValue.segment == "")):
        kpis[model_id][name] = value
    rows = []
    for model_id, name, task, status, version in models:
        run = latest.get(model_id)
        rows.append(FleetRow(
            name=name, task=task, status=status, health=health(run.status if run else None, alerts[model_id]),
            serving_version=version, last_run_id=run.id if run else None, last_run_status=run.status if run else None,
            last_window_end=run.window_end if run else None, last_finished_at=run.finished_at if run else None,
            open_alerts=dict(alerts[model_id]), pending_actions=sum(actions[model_id].values()),
            awaiting_approval=actions[model_id].get("pending_approval", 0), kpis=kpis[model_id]))
    order = ("critical", "alerting", "failed", "ok", "unchecked")
    return sorted(rows, key=lambda r: (order.index(r.health), r.name))


@dataclass(frozen=True)
class AlertGroup:
    """Open alerts that share a cause: one model's alerts of one kind, or one rule family's across models."""

    key: str
    model: str | None
    kind: str | None
    rule: str | None
    severity: str  # the worst in the group
    count: int
    models: list[str]
    alert_ids: list[int]
    first_seen: dt.datetime
    last_seen: dt.datetime
    acknowledged: int


def alert_groups(session: Session, by: str = "cause") -> list[AlertGroup]:
    """Open alerts grouped by ``cause`` (model and kind: one broken model reads as one line) or
    by ``rule`` (one rule across the fleet: a shared upstream reads as one line); worst first."""
    if by not in ("cause", "rule"):
        raise ValueError(f"group alerts by 'cause' or 'rule', not {by!r}")
    found = session.execute(select(Alert, Model.name).join(Model, Model.id == Alert.model_id)
                            .where(Alert.state.in_(OPEN_STATES)).order_by(Alert.id)).all()
    groups: dict[tuple, list[tuple[Alert, str]]] = defaultdict(list)
    for alert, model in found:
        groups[(model, alert.kind) if by == "cause" else (alert.rule,)].append((alert, model))
    out = []
    for key, members in groups.items():
        alerts = [a for a, _ in members]
        out.append(AlertGroup(
            key="/".join(key), model=key[0] if by == "cause" else None, kind=key[1] if by == "cause" else None,
            rule=key[0] if by == "rule" else None,
            severity=min((a.severity for a in alerts), key=_severity_rank), count=len(alerts),
            models=sorted({m for _, m in members}), alert_ids=[a.id for a in alerts],
            first_seen=min(a.first_seen for a in alerts), last_seen=max(a.last_seen for a in alerts),
            acknowledged=sum(a.state == "acknowledged" for a in alerts)))
    return sorted(out, key=lambda g: (_severity_rank(g.severity), -g.count, g.key))


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
