"""What the React dashboard's pages read, as JSON: the fleet, one model, the alerts.

The dashboard talks only to the JSON API; these three reads exist because a page needs, in one
request, what the generic endpoints spread over many (health of every model, thresholds and
anomaly marks next to the KPI history, acknowledgements next to alerts). Each function takes an
open session and returns plain JSON; nothing here writes. The fleet read uses a fixed number of
queries whatever the number of models, so the overview stays fast at 1,000 models.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdoors.dashboard.model_view import drift_rows, flagged_points, service_thresholds, tiles
from frontdoors.dashboard.views import KEY_KPIS, SERVICE_KEY_KPIS, acknowledgements, next_action
from monitor import audit
from monitor.alerts.lifecycle import OPEN_STATES, health_of, list_alerts
from monitor.check.summary import build_summary
from monitor.db.schema import Alert, CheckRun, KpiValue, Model, RecoveryAction, Report
from monitor.recovery.schedule import PENDING, list_actions
from monitor.reports.service import SERVICE_KPIS
from monitor.store import models as store_models, runs as store_runs

#: (chart title, unit, the KPIs it plots): one axis per unit; a KPI matching none gets its own chart
CHARTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("Model performance", "ratio", ("accuracy", "precision", "recall", "f1", "roc_auc", "precision_macro",
                                    "recall_macro", "f1_macro", "precision_weighted", "recall_weighted",
                                    "f1_weighted")),
    ("Regression error", "value", ("mae", "rmse")),
    ("R\u00b2", "ratio", ("r2",)),
    ("Latency", "ms", ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")),
    ("Error rate", "percent", ("error_rate",)),
    ("Throughput", "rpm", ("throughput_rpm",)),
    ("Availability", "percent", ("availability",)),
    ("Serving host", "pct", ("host_cpu_pct_p95", "host_memory_pct_p95", "host_disk_pct_max")),
]
SKIPPED = {"log_loss"}
RANGES = {"6h": 6, "24h": 24, "7d": 24 * 7, "30d": 24 * 30, "all": None}
MAX_POINTS = 2000  # per KPI: uPlot draws this many in a few milliseconds
DETECT_HISTORY = 60
DRIFT_RUNS = 60
ANNOTATED_ACTIONS = ("rollback", "retrain")


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


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
    from monitor.db.schema import ModelVersion

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
        out[model_id] = [{"name": n, "value": values[n]} for n in wanted if values.get(n) is not None][:4]
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


def action_json(action: RecoveryAction) -> dict[str, Any]:
    return {"id": action.id, "kind": action.kind, "state": action.state, "eta": iso(action.eta),
            "reason": action.reason, "expires_at": iso(action.expires_at), "alert_id": action.alert_id,
            "finished_at": iso(action.finished_at), "error": action.error,
            "verification": action.verification_state}


def model_page(session: Session, name: str, range_: str = "7d", now: dt.datetime | None = None) -> dict[str, Any]:
    """One model: KPI history with thresholds, baselines and anomaly marks; drift over time;
    annotations; alerts; recovery schedule; runs; audit trail."""
    if range_ not in RANGES:
        raise ValueError(f"range {range_!r}: expected one of {', '.join(RANGES)}")
    now = now or dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(hours=RANGES[range_]) if RANGES[range_] else None
    model = store_models.get_model(session, name)
    spec = store_models.spec_of(model)
    recent = store_runs.recent_runs(session, model.id, 15)
    latest = next((r for r in recent if r.status == "succeeded"), None)
    summary = build_summary(session, latest) if latest else {}
    alerts = list_alerts(session, model.id, limit=100)
    acks = acknowledgements(session, alerts)
    serving = store_models.serving_version(session, model.id)
    actions = list_actions(session, model.id, limit=50)
    reports = set(session.scalars(select(Report.run_id).where(Report.run_id.in_([r.id for r in recent]))))
    return {
        "name": model.name, "task": model.task, "range": range_,
        "health": health_of(recent[0] if recent else None, [a for a in alerts if a.state in OPEN_STATES]),
        "serving_version": serving.version if serving else None,
        "last_run": run_json(recent[0], reports) if recent else None,
        "latest_run": latest.id if latest else None,
        "tiles": {"model": [t.__dict__ for t in tiles(summary, service=False, rules=spec.rules)],
                  "service": [t.__dict__ for t in tiles(summary, service=True, rules=spec.rules)]},
        "charts": kpi_charts(session, model.id, latest, summary, spec.rules, since),
        "annotations": annotations(session, model.id, actions, since),
        "drift": {"latest": drift_rows(summary), "history": drift_history(session, model.id, since)},
        "alerts": [alert_json(a, model.name, acks.get(a.id)) for a in alerts],
        "actions": [action_json(a) for a in actions],
        "runs": [run_json(r, reports) for r in recent],
        "audit": [audit.to_json(e) for e in audit.events(session, model.id, limit=50)],
    }


def run_json(run: CheckRun, reports: set[str]) -> dict[str, Any]:
    return {"id": run.id, "status": run.status, "trigger": run.trigger, "version": run.version,
            "window_end": iso(run.window_end), "created_at": iso(run.created_at), "error": run.error,
            "report": run.id in reports}


def kpi_points(session: Session, model_id: int, since: dt.datetime | None) -> dict[str, list]:
    """Each KPI's whole-window values (oldest first) with their baseline, since ``since``."""
    statement = (select(KpiValue.name, KpiValue.window_end, KpiValue.value, KpiValue.baseline)
                 .where(KpiValue.model_id == model_id, KpiValue.segment == "")
                 .order_by(KpiValue.window_end, KpiValue.id))
    if since is not None:
        statement = statement.where(KpiValue.window_end >= since)
    out: dict[str, list] = defaultdict(list)
    for name, at, value, baseline in session.execute(statement):
        if name not in SKIPPED:
            out[name].append((at.isoformat(), value, baseline))
    return {n: pts[-MAX_POINTS:] for n, pts in out.items()}


def kpi_charts(session: Session, model_id: int, latest, summary: dict, rules, since) -> list[dict[str, Any]]:
    points = kpi_points(session, model_id, since)
    thresholds = {**(summary.get("thresholds") or {}), **service_thresholds(rules)}
    flagged: dict[str, set[str]] = {}
    if latest is not None and summary.get("anomalies"):
        names = list(summary["anomalies"])
        long = store_runs.kpi_history(session, model_id, names, limit=DETECT_HISTORY)
        flagged = flagged_points(long, latest.window_end, summary["anomalies"])
    charts, placed = [], set()
    for title, unit, names in [*CHARTS, *[(n, "value", (n,)) for n in sorted(points)]]:
        members = [n for n in names if n in points and n not in placed]
        if not members:
            continue
        placed.update(members)
        charts.append({"title": title, "unit": unit, "series": [{
            "name": n, "points": [[t, v] for t, v, _ in points[n]],
            "baseline": next((b for _, _, b in reversed(points[n]) if b is not None), None),
            "threshold": _number(thresholds.get(n)), "anomalies": sorted(flagged.get(n, ())),
        } for n in members]})
    return charts


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def annotations(session: Session, model_id: int, actions: list[RecoveryAction], since) -> list[dict[str, Any]]:
    """Deploys (a version promoted to serving) and rollbacks / retrains that ran, for the charts."""
    marks = [{"at": iso(v.promoted_at or v.created_at), "kind": "deploy", "label": f"deploy {v.version}"}
             for v in store_models.list_versions(session, model_id) if v.promoted_at or v.serving]
    marks += [{"at": iso(a.finished_at), "kind": a.kind, "label": f"{a.kind} #{a.id} {a.state}"}
              for a in actions if a.kind in ANNOTATED_ACTIONS and a.finished_at]
    return sorted((m for m in marks if m["at"] and (since is None or m["at"] >= since.isoformat())),
                  key=lambda m: m["at"])


def drift_history(session: Session, model_id: int, since) -> dict[str, list]:
    """Per feature, its drift effect size and verdict in each of the last DRIFT_RUNS succeeded runs."""
    statement = (select(CheckRun.window_end, CheckRun.results).where(
        CheckRun.model_id == model_id, CheckRun.status == "succeeded")
        .order_by(CheckRun.window_end.desc()).limit(DRIFT_RUNS))
    if since is not None:
        statement = statement.where(CheckRun.window_end >= since)
    out: dict[str, list] = defaultdict(list)
    for at, results in reversed(session.execute(statement).all()):
        for row in ((results or {}).get("detection") or {}).get("drift") or []:
            if isinstance(row, dict) and row.get("column") and not row.get("skipped"):
                out[str(row["column"])].append([at.isoformat(), row.get("effect_size"), bool(row.get("drifted"))])
    return dict(out)


__all__ = ["fleet", "alerts_page", "model_page", "session_info", "SERVICE_KPIS"]
