"""What a model's page shows: KPI history with thresholds and anomalies, the latest run's drift,
data quality and service KPIs, the alerts timeline, the recovery schedule, reports and audit trail.

"The latest run" is the newest *succeeded* run: a run still in flight or failed has no detection
results yet, and showing an empty drift table for it would read as "no drift".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monitor import audit
from monitor.alerts.lifecycle import OPEN_STATES, list_alerts
from monitor.check.summary import build_summary
from frontdoors.dashboard import charts
from monitor.alerts.lifecycle import health_of
from frontdoors.dashboard.views import acknowledgements
from monitor.detect.rules.service_slo import SERVICE_RULES
from monitor.recovery.schedule import list_actions
from monitor.reports.charts import distribution
from monitor.reports.sections import column_name
from monitor.reports.service import SERVICE_KPIS  # every operational KPI: logs, probes, host samples
from monitor.spec import Rules
from monitor.store import models as store_models, runs as store_runs

HISTORY_POINTS = 50  # points per KPI chart
DETECT_HISTORY = 60  # the detect stage scans this many points per KPI (monitor.check.stages.detect)
RECENT_RUNS = 15


@dataclass(frozen=True)
class Tile:
    """One KPI of the latest run: its value, what it is judged against, and whether a rule fired."""
    name: str
    value: float | None
    reference: float | None  # the baseline (model KPIs) or the SLO threshold (service KPIs)
    change_pct: float | None
    breached: bool


def model_page(session: Session, name: str, now: dt.datetime) -> dict:
    model = store_models.get_model(session, name)
    spec = store_models.spec_of(model)
    recent = store_runs.recent_runs(session, model.id, RECENT_RUNS)
    latest = next((r for r in recent if r.status == "succeeded"), None)
    summary = build_summary(session, latest) if latest else {}
    alerts = list_alerts(session, model.id, limit=100)
    open_alerts = [a for a in alerts if a.state in OPEN_STATES]
    serving = store_models.serving_version(session, model.id)
    return {
        "model": model, "spec": spec, "now": now, "serving": serving,
        "versions": store_models.list_versions(session, model.id),
        "health": health_of(recent[0] if recent else None, open_alerts),
        "last_run": recent[0] if recent else None, "latest": latest, "summary": summary,
        "model_tiles": tiles(summary, service=False, rules=spec.rules),
        "service_tiles": tiles(summary, service=True, rules=spec.rules),
        "charts": history_charts(session, model.id, latest, summary, spec.rules),
        "drift": drift_rows(summary), "drift_plots": drift_plots(summary),
        "quality": [q for q in summary.get("quality") or [] if isinstance(q, dict)],
        "alerts": alerts, "acks": acknowledgements(session, alerts),
        "timeline": charts.alert_timeline(alerts, now),
        "actions": list_actions(session, model.id, limit=50),
        "runs": recent, "reports": {r.id for r in recent if store_runs.report_of(session, r.id) is not None},
        "audit": audit.events(session, model.id, limit=50),
    }


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


def history_charts(session: Session, model_id: int, latest, summary: dict, rules: Rules) -> list[tuple[str, str]]:
    """KPI history charts with the rules' thresholds and the points the latest detect flagged."""
    if not summary:
        return []
    names = list(summary.get("kpis") or {})
    long = store_runs.kpi_history(session, model_id, names, limit=HISTORY_POINTS + DETECT_HISTORY)
    shown = {n: pts[-HISTORY_POINTS:] for n, pts in long.items()}
    thresholds = {**(summary.get("thresholds") or {}), **service_thresholds(rules)}
    flagged = flagged_points(long, latest.window_end, summary.get("anomalies") or {})
    return charts.kpi_charts(shown, thresholds, flagged)


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


def drift_plots(summary: dict) -> list[tuple[str, str]]:
    """Reference vs window distributions (the report's plot) of the columns that drifted."""
    dists = summary.get("distributions") or {}
    plots = []
    for d in drift_rows(summary):
        dist = dists.get(d.get("column"))
        if d.get("drifted") is True and isinstance(dist, dict):
            plots.append((d["label"], distribution(dist.get("reference") or {}, dist.get("window") or {},
                                                   f"{d['label']}: reference vs window")))
    return plots
