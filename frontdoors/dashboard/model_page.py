"""What a model's page reads in one request, as JSON: the latest KPIs against baselines and SLOs,
the latest check's drift, alerts with who acknowledged them, the recovery schedule, runs and the
audit trail. The history over a time range comes from ``/v1/models/{name}/timeseries``, ``drift``
and ``annotations`` (frontdoors/api/routes/timeline.py).

"The latest check" is the newest *succeeded* run: a run still in flight or failed has no detection
results yet, and showing an empty drift table for it would read as "no drift". Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdoors.dashboard.alerts import acknowledgements, alert_json, iso
from monitor import audit
from monitor.alerts.lifecycle import OPEN_STATES, health_of, list_alerts
from monitor.check.summary import build_summary
from monitor.db.schema import CheckRun, RecoveryAction, Report
from monitor.detect.rules.service_slo import SERVICE_RULES
from monitor.recovery.schedule import list_actions
from monitor.reports.sections import column_name
from monitor.reports.service import SERVICE_KPIS  # every operational KPI: logs, probes, host samples
from monitor.spec import Rules
from monitor.store import models as store_models, runs as store_runs

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


def drift_rows(summary: dict) -> list[dict]:
    """Per-feature drift of the latest run, drifted columns first; output columns get plain names."""
    rows = [dict(d, label=column_name(d.get("column"))) for d in summary.get("drift") or [] if isinstance(d, dict)]
    return sorted(rows, key=lambda d: (d.get("drifted") is not True, bool(d.get("skipped")), str(d["label"])))


def action_json(action: RecoveryAction) -> dict[str, Any]:
    return {"id": action.id, "kind": action.kind, "state": action.state, "eta": iso(action.eta),
            "reason": action.reason, "expires_at": iso(action.expires_at), "alert_id": action.alert_id,
            "finished_at": iso(action.finished_at), "error": action.error,
            "verification": action.verification_state}


def model_page(session: Session, name: str) -> dict[str, Any]:
    """One model: the latest check's tiles and drift, alerts with acknowledgements, the recovery
    schedule, recent runs (with whether each has a report) and the audit trail."""
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
        "name": model.name, "task": model.task,
        "health": health_of(recent[0] if recent else None, [a for a in alerts if a.state in OPEN_STATES]),
        "serving_version": serving.version if serving else None,
        "last_run": run_json(recent[0], reports) if recent else None,
        "latest_run": latest.id if latest else None,
        "tiles": {"model": [t.__dict__ for t in tiles(summary, service=False, rules=spec.rules)],
                  "service": [t.__dict__ for t in tiles(summary, service=True, rules=spec.rules)]},
        "drift": drift_rows(summary),
        "quality": [q for q in summary.get("quality") or [] if isinstance(q, dict)],
        "alerts": [alert_json(a, model.name, acks.get(a.id)) for a in alerts],
        "actions": [action_json(a) for a in actions],
        "runs": [run_json(r, reports) for r in recent],
        "audit": [audit.to_json(e) for e in audit.events(session, model.id, limit=50)],
    }


def run_json(run: CheckRun, reports: set[str]) -> dict[str, Any]:
    return {"id": run.id, "status": run.status, "trigger": run.trigger, "version": run.version,
            "window_end": iso(run.window_end), "created_at": iso(run.created_at), "error": run.error,
            "report": run.id in reports}