"""The JSON summary of a run: what the report renders, ``modelwatch check --json`` prints and the
API returns. Built from the database, so any process can build it for any run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import alerts_of_run
from monitor.check.results import DetectResult, EvaluateResult
from monitor.check.outcome import outcome_of
from monitor.check.redrive import run_redrives
from monitor.db.schema import CheckRun, ModelVersion, RecoveryAction, Report, utcnow
from monitor.detect.rules.performance import PERFORMANCE_RULES
from monitor.kpis.change import kpi_change
from monitor.recovery.schedule import to_json as action_json
from monitor.store import models as store_models, runs as store_runs


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _thresholds(spec, baseline: dict) -> dict[str, float]:
    """The KPI value at which each performance rule fires, for plotting."""
    lines = {}
    for metric, field in PERFORMANCE_RULES.values():
        pct, base = getattr(spec.rules, field), baseline.get(metric)
        if pct is None or base is None:
            continue
        sign = 1 if field.endswith("increase_pct") else -1
        lines[metric] = base * (1 + sign * pct / 100)
    return lines


def _distributions(session: Session, run: CheckRun, detection: DetectResult) -> dict[str, Any]:
    if not detection.get("quality", {}).get("histograms"):
        return {}  # nothing to compare with the reference (no need to look it up)
    reference = store_models.run_reference(session, run)
    return distributions(detection, (reference.profile.get("quality") or {}) if reference else {})


def distributions(detection: DetectResult, stats: dict[str, Any]) -> dict[str, Any]:
    """Reference vs window histograms (numeric, on the reference's bin edges) or category counts."""
    window = detection.get("quality", {}).get("histograms") or {}
    out = {}
    for column, current in window.items():
        entry = stats.get(column) or {}
        if entry.get("type") == "numeric" and "histogram" in entry:
            out[column] = {"type": "numeric", "reference": entry["histogram"], "window": current}
        elif entry.get("type") == "categorical":
            names = current.get("categories") or []
            counts = entry.get("counts") or {}
            out[column] = {"type": "categorical", "window": current,
                           "reference": {"categories": names, "counts": [counts.get(n, 0) for n in names]}}
    return out


def _events(session: Session, model_id: int, schedule: list[dict]) -> list[dict[str, Any]]:
    """What was done to the model, for marking KPI charts: each version's promotion (a deploy) and
    each finished rollback or retrain of the recent recovery schedule."""
    events = [{"at": _iso(v.promoted_at), "kind": "deploy", "label": f"v{v.version}"}
              for v in session.scalars(select(ModelVersion).where(ModelVersion.model_id == model_id,
                                                                   ModelVersion.promoted_at.is_not(None)))]
    events += [{"at": a["finished_at"], "kind": a["kind"], "label": f"#{a['id']}"} for a in schedule
               if a["kind"] in ("rollback", "retrain") and a["state"] == "succeeded" and a.get("finished_at")]
    return sorted(events, key=lambda e: e["at"])


def _actions(session: Session, model_id: int, run_id: str, recent: int = 10
             ) -> tuple[list[RecoveryAction], list[RecoveryAction]]:
    """The model's ``recent`` newest recovery actions (newest first, as ``list_actions`` gives them)
    and the run's own (oldest first, as ``actions_of_run``), in one query: the run's actions are
    the model's too, so the newest ``recent`` of everything read are the model's newest."""
    newest = (select(RecoveryAction.id).where(RecoveryAction.model_id == model_id)
              .order_by(RecoveryAction.id.desc()).limit(recent))
    rows = list(session.scalars(select(RecoveryAction).where(
        (RecoveryAction.run_id == run_id) | RecoveryAction.id.in_(newest)).order_by(RecoveryAction.id.desc())))
    return rows[:recent], [a for a in reversed(rows) if a.run_id == run_id]


def finding_json(f) -> dict[str, Any]:
    """A finding (stored row or :class:`~monitor.detect.findings.Finding`) as the summary lists it."""
    return {"rule": f.rule, "kind": f.kind, "status": f.status, "severity": f.severity, "metric": f.metric,
            "value": f.value, "baseline": f.baseline, "threshold": f.threshold, "message": f.message,
            "segment": f.segment}


def detection_parts(detection: DetectResult) -> dict[str, Any]:
    """What the report shows of the rules beyond their findings."""
    return {"drift": detection.get("drift", []), "variance": detection.get("variance", {}),
            "multivariate": detection.get("multivariate"),
            "quality": detection.get("quality", {}).get("issues", []),
            "anomalies": detection.get("anomalies", {})}


def kpi_entry(name: str, value: float | None, baseline: float | None) -> dict[str, Any]:
    """A KPI as the summary carries it: ``change_pct`` is signed (new - old) and ``verdict`` says
    whether that is better or worse for this KPI (``monitor.kpis.change``)."""
    change = kpi_change(name, value, baseline)
    return {"value": value, "baseline": baseline, "change_pct": change.pct if change else None,
            "change": change.delta if change else None, "verdict": change.verdict if change else None}


def build_summary(session: Session, run: CheckRun,
                  report: Report | None | object = store_runs.UNREAD) -> dict[str, Any]:
    """The run's summary; ``report`` is its stored report (or None) when the caller read it already."""
    model = store_models.get_model_by_id(session, run.model_id)
    spec = store_models.spec_of(model)
    evaluated = EvaluateResult.from_json(run.results)
    detection = DetectResult.from_json(run.results)
    baseline = evaluated.baseline if evaluated else {}
    kpis = {}
    for value in store_runs.kpis_of(session, run.id, segment=""):  # each segment's are under "segments"
        kpis[value.name] = kpi_entry(value.name, value.value, value.baseline)
    if report is store_runs.UNREAD:
        report = store_runs.report_of(session, run.id)
    recent, of_run = _actions(session, model.id, run.id)
    schedule = [action_json(a, model.name) for a in recent]
    summary = {
        "run_id": run.id, "model": model.name, "version": run.version, "task": model.task,
        "trigger": run.trigger, "status": run.status, "error": run.error,
        "window": {"start": _iso(run.window_start), "end": _iso(run.window_end)},
        "generated_at": utcnow().isoformat(),
        "counts": ({"rows": evaluated.rows, "labelled_rows": evaluated.labelled_rows} if evaluated
                   else {"rows": (run.watermark or {}).get("rows")}),
        "stages": run.stages,
        "redrives": run_redrives(run),
        "kpis": kpis,
        "confusion_matrix": evaluated.evaluation.confusion_matrix if evaluated else None,
        "per_class": evaluated.evaluation.per_class if evaluated else None,
        "notes": evaluated.evaluation.notes if evaluated else [],
        "findings": [finding_json(f) for f in store_runs.findings_of(session, run.id)],
        "alerts": [
            {"id": a.id, "rule": a.rule, "kind": a.kind, "segment": a.segment, "state": a.state,
             "severity": a.severity, "message": a.message,
             "first_seen": _iso(a.first_seen), "resolved_at": _iso(a.resolved_at)}
            for a in alerts_of_run(session, run)
        ],
        "recovery_actions": [
            {"id": a.id, "kind": a.kind, "state": a.state, "eta": _iso(a.eta), "reason": a.reason,
             "result": a.result, "error": a.error}
            for a in of_run
        ],
        "recovery_schedule": schedule,
        "events": _events(session, model.id, schedule),
        "history": store_runs.kpi_history(session, model.id, [k for k in kpis if k != "log_loss"]),
        "thresholds": _thresholds(spec, baseline),
        "segments": {name: part.to_json() for name, part in evaluated.segments.items()} if evaluated else {},
        "estimated": evaluated.estimated if evaluated else None,
        **detection_parts(detection),
        "distributions": _distributions(session, run, detection),
        "report": {"id": report.id} if report else None,
    }
    summary["outcome"], summary["outcome_message"] = outcome_of(summary)
    return summary
