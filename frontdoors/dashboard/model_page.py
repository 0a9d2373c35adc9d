"""What a model's page reads, as JSON: the latest KPIs against baselines and SLOs, KPI history
over a time range with thresholds, baselines, anomaly marks and deploy / rollback / retrain
annotations, per-feature drift over time, alerts, the recovery schedule, runs and the audit trail.

"The latest check" is the newest *succeeded* run: a run still in flight or failed has no detection
results yet, and showing an empty drift table for it would read as "no drift". Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdoors.dashboard.alerts import acknowledgements, alert_json, iso
from monitor import audit
from monitor.alerts.lifecycle import OPEN_STATES, health_of, list_alerts
from monitor.check.summary import build_summary
from monitor.db.schema import CheckRun, KpiValue, RecoveryAction, Report
from monitor.detect.service import SERVICE_RULES
from monitor.recovery.schedule import list_actions
from monitor.reports.sections import column_name
from monitor.reports.service import SERVICE_KPIS  # every operational KPI: logs, probes, host samples
from monitor.spec import Rules
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
RECENT_RUNS = 15


@dataclass(frozen=True)
class Tile:
    """One KPI of the latest run: its value, what it is judged against, and whether a rule fired."""
    name: str
    value: float | None
    reference: float | None  # the baseline (model KPIs) or the SLO threshold (service KPIs)
    change_pct: float | None
    breached: bool


def service_thresholds(rules: Rules) -> dict[str, float]:
    """Each service KPI's SLO in the KPI's own unit (error rate is a share, the rule a percent)."""
    out = {}
    for metric, field, _upper, factor in SERVICE_RULES.values():
        if getattr(rules, field) is not None:
            out[metric] = getattr(rules, field) * factor
    return out


def tiles(summary: dict, *, service: bool, rules: Rules) -> list[Tile]:
    kpis = summary.get("kpis") or {}
    firing = {f.get("metric") for f in summary.get("findings") or []
              if f.get("status") == "firing" and not f.get("segment")}
    slo = service_thresholds(rules)
    names = [n for n in SERVICE_KPIS if n in kpis] if service else [n for n in kpis if n not in SERVICE_KPIS]
    return [Tile(n, kpis[n].get("value"), slo.get(n) if service else kpis[n].get("baseline"),
                 None if service else kpis[n].get("change_pct"), n in firing) for n in names]


def flagged_points(history: dict[str, list], run_end: dt.datetime,
                   indices: dict[str, list[int]]) -> dict[str, set[str]]:
    """Turn the detect stage's anomaly indices back into timestamps.

    The indices point into the last DETECT_HISTORY points of each KPI *as the run saw them*, i.e.
    up to its own window end; newer runs since then would shift them, so rebuild that list first.
    """
    out = {}
    for name, flagged in indices.items():
        seen = [p for p in history.get(name, []) if dt.datetime.fromisoformat(p[0]) <= run_end][-DETECT_HISTORY:]
        out[name] = {seen[i][0] for i in flagged if isinstance(i, int) and 0 <= i < len(seen)}
    return out


def drift_rows(summary: dict) -> list[dict]:
    """Per-feature drift of the latest run, drifted columns first; output columns get plain names."""
    rows = [dict(d, label=column_name(d.get("column"))) for d in summary.get("drift") or [] if isinstance(d, dict)]
    return sorted(rows, key=lambda d: (d.get("drifted") is not True, bool(d.get("skipped")), str(d["label"])))


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
    recent = store_runs.recent_runs(session, model.id, RECENT_RUNS)
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
