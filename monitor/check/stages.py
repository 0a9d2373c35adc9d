"""The six stages of a check run. Each takes a run id, reads what it needs from the database,
writes its output in the same transaction as its ``succeeded`` mark, and returns a small dict.

Running a stage twice for the same run gives the same result and no second side effect:
collect freezes the window once (a watermark of row ids), evaluate/detect replace their rows,
alert applies a run once (``alerts_applied``), recovery actions and notifications have unique keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from monitor import failpoints
from monitor.alerts import lifecycle
from monitor.alerts.policy import OPEN_STATES
from monitor.check.interactions import detect_interactions, evaluate_interactions, interaction_kpis
from monitor.check.service import operational_kpis
from monitor.check.summary import build_summary
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.schema import Alert, CheckRun, utcnow
from monitor.detect import data
from monitor.detect.estimated import estimate_window, estimated_evaluations
from monitor.detect.history import anomaly_evaluations
from monitor.detect.performance import detect_performance_drop
from monitor.detect.service import detect_service_slo
from monitor.service import SERVICE_KPIS, service_kpis
from monitor.interactions import RATE_KPIS
from monitor.errors import StageError, TransientError
from monitor.metrics import evaluate as evaluate_kpis
from monitor.reference import segments_of
from monitor.recovery import schedule
from monitor import events
from monitor.reports import render_html
from monitor.spec import Task
from monitor.store import logs, models as store_models, runs as store_runs

StageFn = Callable[[Session, CheckRun, Settings], dict[str, Any]]


def is_transient(exc: BaseException) -> bool:
    """Database hiccups are worth a retry; everything else fails the run with its reason."""
    if isinstance(exc, TransientError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def abandon(settings: Settings, run_id: str, name: str, reason: str) -> bool:
    """Fail a run whose stage task gave up for good (its transient retries are exhausted).

    Without this the run would stay ``running`` forever: no retry comes, and nothing waits on a
    run that can no longer finish. A run already ended is left alone. Returns whether it failed it.
    """
    with session_scope(settings.effective_database_url) as session:
        run = store_runs.lock_run(session, run_id)
        if run.status in ("succeeded", "failed"):
            return False
        store_runs.fail_run(session, run, name, f"gave up after retries: {reason}")
        return True


def run_stage(settings: Settings, run_id: str, name: str, body: StageFn) -> dict[str, Any]:
    """Run one stage with its bookkeeping: state, attempts, duration, and the failure reason.

    A stage that already succeeded for this run returns the output it stored then: a message
    redelivered after the run moved on (even after its frozen window was released) changes
    nothing. Copies of a stage running at once serialise on the run's row.
    """
    url = settings.effective_database_url
    with session_scope(url) as session:
        run = store_runs.get_run(session, run_id)
        done = (run.stages or {}).get(name, {})
        if done.get("state") == "succeeded":
            return done.get("output") or {}
        if run.status == "failed":
            raise StageError(f"run {run_id} already failed ({run.error}); not running {name}")
        attempts = int(done.get("attempts", 0)) + 1
        store_runs.mark_stage(session, run, name, "running", attempts=attempts,
                              started_at=utcnow().isoformat())
    failpoints.hit(settings.failpoints, name)
    started = time.perf_counter()
    try:
        with session_scope(url) as session:
            run = store_runs.lock_run(session, run_id)
            done = (run.stages or {}).get(name, {})
            if done.get("state") == "succeeded":  # a concurrent copy finished while we waited
                return done.get("output") or {}
            output = body(session, run, settings)
            store_runs.mark_stage(session, run, name, "succeeded", attempts=attempts, output=output,
                                  finished_at=utcnow().isoformat(),
                                  duration_ms=round((time.perf_counter() - started) * 1000, 1))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        with session_scope(url) as session:
            run = store_runs.get_run(session, run_id)
            if is_transient(exc):
                store_runs.mark_stage(session, run, name, "retrying", attempts=attempts, error=reason)
            elif run.status != "succeeded":
                store_runs.fail_run(session, run, name, reason)
        if is_transient(exc):
            raise TransientError(reason) from exc
        raise StageError(reason) from exc
    return output


def collect(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    if run.watermark is None:
        run.watermark = logs.freeze_window(session, run.model_id, run.window_start, run.window_end, run.version,
                                           key=run.id)
    return {"rows": run.watermark["rows"], "labelled_rows": run.watermark["labelled_rows"]}


def evaluate(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    model = store_models.get_model_by_id(session, run.model_id)
    spec = store_models.spec_of(model)
    window = logs.load_window(session, run.model_id, run.window_start, run.window_end, run.version, run.watermark)
    labelled = window[window["label"].notna()] if len(window) else window
    scores = None
    if spec.task is Task.binary_classification and len(labelled) and labelled["score"].notna().any():
        scores = labelled["score"].tolist()
    evaluation = evaluate_kpis(labelled["label"].tolist() if len(labelled) else [],
                               labelled["prediction"].tolist() if len(labelled) else [],
                               spec.task, scores=scores, positive_label=spec.positive_label)
    reference = store_models.reference_for(session, run.model_id, run.version)
    baseline = dict(reference.baseline_kpis) if reference else {}
    service = service_kpis(window, (run.window_end - run.window_start).total_seconds())
    service.update(operational_kpis(session, run, spec))
    interactions = evaluate_interactions(session, run, spec)
    store_runs.save_kpis(session, run, {**evaluation.kpis, **service, **interaction_kpis(interactions)}, baseline)
    store_runs.set_result(run, "service", service)
    store_runs.set_result(run, "interactions", interactions)
    segments = {}
    profile_segments = (reference.profile.get("segments") or {}) if reference else {}
    for column in spec.columns.segments:
        if column not in labelled:
            continue
        for segment, group in segments_of(labelled, column):
            part = evaluate_kpis(group["label"].tolist(), group["prediction"].tolist(), spec.task,
                                 scores=group["score"].tolist() if scores is not None else None,
                                 positive_label=spec.positive_label)
            segment_baseline = (profile_segments.get(segment) or {}).get("kpis") or {}
            store_runs.save_kpis(session, run, part.kpis, segment_baseline, segment=segment)
            segments[segment] = {"kpis": part.kpis, "labelled_rows": part.labelled_rows,
                                 "baseline": segment_baseline}
    store_runs.set_result(run, "segments", segments)
    estimated = estimate_window(window, spec, (reference.profile.get("calibration") if reference else None))
    store_runs.set_result(run, "estimated", estimated)
    store_runs.set_result(run, "evaluation", evaluation.to_json())
    store_runs.set_result(run, "counts", {"rows": len(window), "labelled_rows": evaluation.labelled_rows})
    store_runs.set_result(run, "baseline", baseline)
    return {"kpis": sum(v is not None for v in evaluation.kpis.values()), "labelled_rows": evaluation.labelled_rows}


def detect(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    """Every rule on this window: performance (realised, per segment, estimated), drift of
    features and outputs, variance change, joint drift, data quality and KPI-history anomalies."""
    spec = store_models.spec_of(store_models.get_model_by_id(session, run.model_id))
    results = run.results or {}
    evaluation = results.get("evaluation") or {}
    baseline = results.get("baseline") or {}
    labelled_rows = evaluation.get("labelled_rows", 0)
    evaluations = detect_performance_drop(evaluation.get("kpis", {}), baseline, labelled_rows, spec.rules)
    for segment, part in (results.get("segments") or {}).items():
        evaluations += [replace(e, segment=segment, message=f"[{segment}] {e.message}")
                        for e in detect_performance_drop(part["kpis"], part["baseline"], part["labelled_rows"],
                                                         spec.rules)]
    evaluations += estimated_evaluations(results.get("estimated"), baseline, labelled_rows, spec)
    evaluations += detect_service_slo(results.get("service") or {}, spec.rules)
    evaluations += detect_interactions(session, run, spec, results.get("interactions"))

    reference = store_models.reference_for(session, run.model_id, run.version)
    window = logs.load_window(session, run.model_id, run.window_start, run.window_end, run.version, run.watermark)
    frame = data.window_frame(window, spec) if len(window) else window
    profile = reference.profile if reference else {}
    sample = pd.DataFrame.from_records(profile.get("sample") or [])
    drift, drift_json = data.drift_evaluations(reference.drift_reference if reference else None, frame, spec)
    variance, variance_json = data.variance_evaluations(sample, frame, spec)
    joint, joint_json = data.multivariate_evaluation(sample, frame, spec)
    quarantined = logs.quarantined_between(session, run.model_id, run.window_start, run.window_end)
    quality, quality_json = data.quality_evaluations(profile.get("quality"), window, spec, quarantined)
    history = store_runs.kpi_history(session, run.model_id, [*evaluation.get("kpis", {}), *SERVICE_KPIS, *RATE_KPIS],
                                     limit=60)
    anomalies, flagged = anomaly_evaluations(history, spec)
    evaluations += drift + variance + joint + quality + anomalies
    store_runs.save_findings(session, run, evaluations)
    store_runs.set_result(run, "detection", {"drift": drift_json, "variance": variance_json,
                                             "multivariate": joint_json, "quality": quality_json,
                                             "anomalies": flagged})
    return {"findings": sum(e.status == "firing" for e in evaluations), "rules": len(evaluations)}


def alert(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    spec = store_models.spec_of(store_models.get_model_by_id(session, run.model_id))
    report_url = f"{settings.public_url.rstrip('/')}/v1/runs/{run.id}/report"
    changes = lifecycle.apply_findings(session, run, spec, store_runs.findings_of(session, run.id), report_url)
    cancelled = schedule.cancel_for_alerts(session, changes.resolved, run.id)
    return {"fired": changes.fired, "resolved": changes.resolved,
            "cancelled_actions": [{"id": a.id, "task_id": a.celery_task_id} for a in cancelled],
            "notifications": lifecycle.pending_notifications(session, run.id)}


def schedule_recovery(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    spec = store_models.spec_of(store_models.get_model_by_id(session, run.model_id))
    from sqlalchemy import select

    fired = list(session.scalars(select(Alert).where(Alert.first_run_id == run.id,
                                                    Alert.state.in_(OPEN_STATES))))
    verified = None
    if run.trigger == "verification":  # the follow-up check of a recovery action: record its outcome
        from monitor.recovery import verification

        verified = verification.record(session, run, spec, f"{settings.public_url.rstrip('/')}/v1/runs/{run.id}/report")
    schedule.plan(session, run, spec, fired)
    return {"actions": [{"id": a.id, "kind": a.kind, "eta": a.eta.isoformat()}
                        for a in schedule.undispatched(session, run.id)],
            "verification": verified, "notifications": (verified or {}).get("notifications", [])}


def report(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    store_runs.finish_run(run)
    if run.watermark:
        logs.release_window(session, run.watermark["key"])
    summary = build_summary(session, run)
    saved = store_runs.save_report(session, run, summary, render_html(summary))
    events.run_finished(session, run)  # last: an event id should be taken just before its commit
    return {"report_id": saved.id, "status": run.status}


STAGES: dict[str, StageFn] = {
    "collect": collect, "evaluate": evaluate, "detect": detect, "alert": alert,
    "schedule_recovery": schedule_recovery, "report": report,
}
