"""A model over a time range, for charts: KPI series with thresholds, baselines, units and marks;
per-feature drift over time; and the annotations a person reads a chart against (deploys,
rollbacks, retrains, recalibrations).

Every query is bounded by the range and a ``limit``; each is one statement per kind of thing,
never one per point or per run.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.schema import AuditEvent, CheckRun, Finding, KpiValue, ModelVersion, RecoveryAction, Report

#: Findings drawn as marks on the KPI they are about (an anomaly, a breached rule).
MARK_STATUSES = ("firing",)
DRIFT_KINDS = ("data_drift", "prediction_drift")
#: Audit actions that change what serves: shown as annotations.
ANNOTATED_ACTIONS = ("rollback", "promote", "retrain", "recalibrate", "register")


def unit_of(kpi: str) -> str:
    """What a KPI's axis measures, from its name.

    >>> [unit_of(k) for k in ("recall", "latency_p95_ms", "error_rate", "mae", "rows", "host_cpu_pct_p95")]
    ['ratio', 'ms', 'ratio', 'target', 'count', 'percent']
    """
    if kpi.endswith("_ms"):
        return "ms"
    if "_pct" in kpi or kpi.endswith("_percent"):
        return "percent"
    if kpi.endswith("_rpm"):
        return "per_minute"
    if kpi in ("mae", "rmse", "mse", "mape_abs", "bias", "mean_prediction", "mean_label"):
        return "target"
    if kpi in ("rows", "labelled_rows", "requests") or kpi.endswith("_count"):
        return "count"
    if kpi in ("log_loss",):
        return "score"
    return "ratio"


@dataclass(frozen=True)
class Point:
    at: dt.datetime  # the run's window end
    value: float | None
    baseline: float | None
    run_id: str
    version: str | None


@dataclass(frozen=True)
class Mark:
    at: dt.datetime
    kind: str
    rule: str
    severity: str
    message: str
    run_id: str


def kpi_range(session: Session, model_id: int, names: list[str] | None, since: dt.datetime, until: dt.datetime,
              segment: str = "", limit: int = 5000) -> dict[str, list[Point]]:
    """Each KPI's points with ``since <= window_end <= until``, oldest first (at most ``limit`` in all)."""
    statement = (select(KpiValue).where(KpiValue.model_id == model_id, KpiValue.segment == segment,
                                        KpiValue.window_end >= since, KpiValue.window_end <= until)
                 .order_by(KpiValue.window_end, KpiValue.id).limit(limit))
    if names:
        statement = statement.where(KpiValue.name.in_(names))
    series: dict[str, list[Point]] = defaultdict(list)
    for row in session.scalars(statement):
        series[row.name].append(Point(row.window_end, row.value, row.baseline, row.run_id, row.version))
    return dict(series)


def marks(session: Session, model_id: int, since: dt.datetime, until: dt.datetime,
          limit: int = 2000) -> dict[str, list[Mark]]:
    """Firing findings about a KPI (``metric``) in the range, by KPI: anomalies and breached rules."""
    found = session.execute(
        select(Finding, CheckRun.window_end).join(CheckRun, CheckRun.id == Finding.run_id)
        .where(Finding.model_id == model_id, Finding.status.in_(MARK_STATUSES), Finding.metric.is_not(None),
               Finding.kind.not_in(DRIFT_KINDS), CheckRun.window_end >= since, CheckRun.window_end <= until)
        .order_by(CheckRun.window_end).limit(limit)).all()
    out: dict[str, list[Mark]] = defaultdict(list)
    for finding, at in found:
        out[finding.metric].append(Mark(at, finding.kind, finding.rule, finding.severity, finding.message,
                                        finding.run_id))
    return dict(out)


def latest_thresholds(session: Session, model_id: int) -> dict[str, float]:
    """The value at which each KPI's rule fires, as the latest report computed it."""
    summary = session.scalar(select(Report.summary).where(Report.model_id == model_id)
                             .order_by(Report.id.desc()).limit(1)) or {}
    return {k: v for k, v in (summary.get("thresholds") or {}).items() if isinstance(v, int | float)}


@dataclass(frozen=True)
class DriftPoint:
    at: dt.datetime
    run_id: str
    column: str
    output: bool
    method: str | None
    effect: float | None
    threshold: float | None
    p_value: float | None
    status: str  # firing (drifted), ok, insufficient_data (skipped)


def drift_range(session: Session, model_id: int, since: dt.datetime, until: dt.datetime,
                limit: int = 10000) -> dict[str, list[DriftPoint]]:
    """Per-column drift of every run in the range (whole-window findings only), oldest first."""
    found = session.execute(
        select(Finding, CheckRun.window_end).join(CheckRun, CheckRun.id == Finding.run_id)
        .where(Finding.model_id == model_id, Finding.kind.in_(DRIFT_KINDS),
               CheckRun.window_end >= since, CheckRun.window_end <= until)
        .order_by(CheckRun.window_end, Finding.id).limit(limit)).all()
    out: dict[str, list[DriftPoint]] = defaultdict(list)
    for finding, at in found:
        side, _, column = finding.segment.partition("=")
        if side not in ("feature", "output"):  # a segment's drift ("region=north,feature=x")
            continue
        details = finding.details or {}
        p_value = details.get("p_value_adjusted", details.get("p_value"))
        out[column].append(DriftPoint(at, finding.run_id, column, side == "output", finding.metric, finding.value,
                                      finding.threshold, p_value if isinstance(p_value, int | float) else None,
                                      finding.status))
    return dict(out)


@dataclass(frozen=True)
class Annotation:
    at: dt.datetime
    kind: str  # deploy, promote, rollback, retrain, recalibrate, register, or a recovery action's kind
    version: str | None
    summary: str
    source: str  # version, recovery, audit
    ref: str


def annotations(session: Session, model_id: int, since: dt.datetime, until: dt.datetime,
                limit: int = 500) -> list[Annotation]:
    """What changed the model in the range: versions created or promoted, recovery actions that
    ran (rollback, retrain, recalibrate...), and audited changes; oldest first."""
    out: list[Annotation] = []
    for v in session.scalars(select(ModelVersion).where(ModelVersion.model_id == model_id).limit(limit)):
        if since <= v.created_at <= until:
            out.append(Annotation(v.created_at, "deploy", v.version, f"version {v.version} registered ({v.source})",
                                  "version", f"version:{v.version}"))
        if v.promoted_at is not None and since <= v.promoted_at <= until:
            out.append(Annotation(v.promoted_at, "promote", v.version, f"version {v.version} serves",
                                  "version", f"version:{v.version}"))
    for a in session.scalars(select(RecoveryAction).where(
            RecoveryAction.model_id == model_id, RecoveryAction.finished_at >= since,
            RecoveryAction.finished_at <= until, RecoveryAction.state.in_(("succeeded", "failed")))
            .order_by(RecoveryAction.finished_at).limit(limit)):
        result: dict[str, Any] = a.result or {}
        summary = result.get("summary") or a.error or a.state
        out.append(Annotation(a.finished_at, a.kind, _version_of(result), f"{a.kind} {a.state}: {summary}",
                              "recovery", f"recovery:{a.id}"))
    for e in session.scalars(select(AuditEvent).where(
            AuditEvent.model_id == model_id, AuditEvent.action.in_(ANNOTATED_ACTIONS),
            AuditEvent.actor != "system", AuditEvent.at >= since, AuditEvent.at <= until)
            .order_by(AuditEvent.at).limit(limit)):
        out.append(Annotation(e.at, e.action, _version_of(e.details or {}),
                              f"{e.action} by {e.actor}" + (f": {e.reason}" if e.reason else ""), "audit",
                              f"audit:{e.id}"))
    return sorted(out, key=lambda a: a.at)[:limit]


def _version_of(details: dict[str, Any]) -> str | None:
    for key in ("to_version", "version", "new_version", "target"):
        if isinstance(details.get(key), str | int):
            return str(details[key])
    return None
