"""The six stages of a check run. Each takes a run id, reads what it needs from the database,
writes its output in the same transaction as its ``succeeded`` mark, and returns a small dict.

Running a stage twice for the same run gives the same result and no second side effect:
collect freezes the window once (a watermark of row ids), evaluate/detect replace their rows,
alert applies a run once (``alerts_applied``), recovery actions and notifications have unique keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from monitor import failpoints
from monitor.alerts import lifecycle
from monitor.alerts.policy import OPEN_STATES
from monitor.check.context import load_context
from monitor.check.evaluate import all_kpis, evaluate_window
from monitor.check.results import AlertResult, DetectResult, EvaluateResult, RecoveryPlan
from monitor.check.summary import build_summary
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.schema import Alert, CheckRun, utcnow
from monitor.detect.rule import run_rules
from monitor.errors import StageError, TransientError
from monitor.recovery import schedule
from monitor import events
from monitor.store import logs, models as store_models, runs as store_runs

StageFn = Callable[[Session, CheckRun, Settings], dict[str, Any]]


def is_transient(exc: BaseException) -> bool:
    """Database hiccups are worth a retry; everything else fails the run with its reason."""
    if isinstance(exc, TransientError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def abandon(settings: Settings, run_id: str, name: str, reason: str) -> bool:
    """Fail a run whose stage task failed for good on a permanent error raised outside its stage
    body (the body's own errors fail the run in :func:`run_stage`).

    Transient errors never come here (``tasks.check.StageTask``): a run whose retries ran out on
    an unreachable database or broker is re-driven by the sweeper instead (``monitor.check.redrive``).
    A run already ended is left alone. Returns whether it failed it.
    """
    with session_scope(settings.effective_database_url) as session:
        run = store_runs.lock_run(session, run_id)
        if run.status in ("succeeded", "failed"):
            return False
        store_runs.fail_run(session, run, name, f"gave up: {reason}")
        return True


def progress(settings: Settings, run_id: str) -> dict[str, Any]:
    """The run's per-stage entries (``check_runs.stages``), read alone and without a lock: where a
    redelivered or re-driven run resumes (``monitor.check.progress.resume_at``); each stage's claim then decides for itself."""
    with session_scope(settings.effective_database_url) as session:
        return session.scalar(select(CheckRun.stages).where(CheckRun.id == run_id)) or {}


class _LastWritten:
    """Per process, each run's ``stages`` and ``status`` as this process last committed them (its
    stage's ``succeeded`` mark), taken by the run's next claim (``store.runs.claim_stage``): a
    run's stages run back to back in one process (``tasks.check.run_stages``), so the next claim is
    usually one conditional UPDATE against it. Only a few runs are kept (a thread pool runs
    several at once); a run not found here is claimed by the locked read, as always."""

    def __init__(self, size: int = 8):
        self._size, self._lock = size, threading.Lock()
        self._runs: dict[tuple[str, str], store_runs.StagesWritten] = {}

    def keep(self, url: str, run_id: str, written: store_runs.StagesWritten) -> None:
        with self._lock:
            self._runs.pop((url, run_id), None)
            self._runs[(url, run_id)] = written
            while len(self._runs) > self._size:
                self._runs.pop(next(iter(self._runs)))

    def take(self, url: str, run_id: str) -> store_runs.StagesWritten | None:
        with self._lock:
            return self._runs.pop((url, run_id), None)


_written = _LastWritten()


def run_stage(settings: Settings, run_id: str, name: str, body: StageFn,
              interruptions: tuple[type[BaseException], ...] = ()) -> dict[str, Any]:
    """Run one stage with its bookkeeping: state, attempts, duration, and the failure reason.

    ``interruptions`` are errors that stop the stage without failing the run: it is marked
    ``retrying`` and the error re-raised as it is, for the caller to go on elsewhere (the task's
    time limit reaching a stage that did not start the task: ``tasks.check.run_stages``).

    A stage that already succeeded for this run returns the output it stored then: a message
    redelivered after the run moved on (even after its frozen window was released) changes
    nothing. Copies of a stage running at once serialise on the run's row: the first mark is
    taken under the row lock too, so a copy redelivered while the original still runs (a stage
    longer than the visibility timeout, a re-drive) waits, then finds it succeeded, instead of
    overwriting the original's ``succeeded`` with a stale ``running``. When this process committed
    the run's previous stage, the claim is first tried as one conditional UPDATE against the row
    it wrote (``store.runs.claim_stage``), which any other process's write since makes fail over
    to the locked read.
    """
    url = settings.effective_database_url
    with session_scope(url) as session:  # the `running` mark, committed first: the sweeper's sign of life
        claim = store_runs.claim_stage(session, run_id, name, written=_written.take(url, run_id))
    if claim.output is not None:
        return claim.output
    if claim.refused:
        raise StageError(claim.refused)
    attempts = claim.attempts
    failpoints.hit(settings.failpoints, name)
    started = time.perf_counter()
    refused = None
    try:
        with session_scope(url) as session:
            run = store_runs.lock_run(session, run_id)
            done = (run.stages or {}).get(name, {})
            if done.get("state") == "succeeded":  # a concurrent copy finished while we waited
                return done.get("output") or {}
            if run.status == "failed":  # ... or failed the run for good while we waited
                refused = f"run {run_id} already failed ({run.error}); not running {name}"
            else:
                output = body(session, run, settings)
                store_runs.mark_stage(session, run, name, "succeeded", attempts=attempts, output=output,
                                      finished_at=utcnow().isoformat(),
                                      duration_ms=round((time.perf_counter() - started) * 1000, 1))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        interrupted = isinstance(exc, interruptions)
        with session_scope(url) as session:
            run = store_runs.get_run(session, run_id)
            if interrupted or is_transient(exc):
                store_runs.mark_stage(session, run, name, "retrying", attempts=attempts, error=reason)
            elif run.status != "succeeded":
                store_runs.fail_run(session, run, name, reason)
        if interrupted:
            raise
        if is_transient(exc):
            raise TransientError(reason) from exc
        raise StageError(reason) from exc
    if refused:
        raise StageError(refused)
    if name != store_runs.STAGES[-1]:  # committed: the run's next claim in this process starts from it
        _written.keep(url, run_id, store_runs.StagesWritten(run.stages, run.status))
    return output


def collect(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    if run.watermark is None:
        run.watermark = logs.freeze_window(session, run.model_id, run.window_start, run.window_end, run.version,
                                           key=run.id)
    return {"rows": run.watermark["rows"], "labelled_rows": run.watermark["labelled_rows"]}


def evaluate(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    """The window's KPIs (``monitor.check.evaluate``), stored as KPI rows and as the run's result."""
    spec = store_models.spec_of(store_models.get_model_by_id(session, run.model_id))
    result = evaluate_window(session, run, spec)
    parts = {segment: (part.kpis, part.baseline) for segment, part in result.segments.items()}
    store_runs.save_kpis(session, run, {"": (all_kpis(result), result.baseline), **parts})
    store_runs.save_results(run, result.to_json())
    return {"kpis": sum(v is not None for v in result.kpis.values()), "labelled_rows": result.labelled_rows}


def detect(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    """Every registered rule (``monitor.detect.rules``) on one context of this window, loaded once."""
    spec = store_models.spec_of(store_models.get_model_by_id(session, run.model_id))
    evaluated = EvaluateResult.from_json(run.results) or EvaluateResult.empty()
    detection = run_rules(load_context(session, run, spec, evaluated))
    store_runs.save_findings(session, run, detection.findings)
    store_runs.save_results(run, DetectResult(detection.summaries).to_json())
    return {"findings": sum(f.status == "firing" for f in detection.findings), "rules": len(detection.findings)}


def alert(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    spec = store_models.spec_of(store_models.get_model_by_id(session, run.model_id))
    report_url = f"{settings.public_url.rstrip('/')}/v1/runs/{run.id}/report"
    changes = lifecycle.apply_findings(session, run, spec, store_runs.findings_of(session, run.id), report_url)
    cancelled = schedule.cancel_for_alerts(session, changes.resolved, run.id)
    # applied now: its notifications are the run's pending ones (an earlier application would have
    # committed with alerts_applied); applied before: re-enqueue what is still pending
    notifications = changes.notifications if changes.applied else lifecycle.pending_notifications(session, run.id)
    return AlertResult(fired=changes.fired, resolved=changes.resolved,
                       cancelled_actions=[{"id": a.id, "task_id": a.celery_task_id} for a in cancelled],
                       notifications=notifications, applied=changes.applied).to_json()


def schedule_recovery(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    spec = store_models.spec_of(store_models.get_model_by_id(session, run.model_id))
    fired = _fired_alerts(session, run)
    verified = None
    if run.trigger == "verification":  # the follow-up check of a recovery action: record its outcome
        from monitor.recovery import verification

        verified = verification.record(session, run, spec, f"{settings.public_url.rstrip('/')}/v1/runs/{run.id}/report")
    # plan() is the only writer of a run's actions: with no alert of this run to act on (the usual
    # case), the run has none to plan or publish
    if fired:
        schedule.plan(session, run, spec, fired)
    return RecoveryPlan(actions=[{"id": a.id, "kind": a.kind, "eta": a.eta.isoformat()}
                                 for a in (schedule.undispatched(session, run.id) if fired else [])],
                        verification=verified, notifications=(verified or {}).get("notifications", [])).to_json()


def _fired_alerts(session: Session, run: CheckRun) -> list[Alert]:
    """The alerts this run raised that are still open. When the alert stage's stored output is of
    the copy that applied the run, it names them all (that stage alone makes alerts whose
    ``first_run_id`` is this run, before this stage): none, the usual case, needs no query.
    Otherwise (an output of a copy that found the run applied already, or none) they are found by
    ``first_run_id``."""
    output = AlertResult.from_json(((run.stages or {}).get("alert") or {}).get("output") or {})
    if not output.applied:
        raised = Alert.first_run_id == run.id
    elif not output.fired:
        return []
    else:
        raised = Alert.id.in_(output.fired)
    return list(session.scalars(select(Alert).where(raised, Alert.state.in_(OPEN_STATES))))


def report(session: Session, run: CheckRun, settings: Settings) -> dict[str, Any]:
    store_runs.finish_run(run)
    if run.watermark:
        logs.release_window(session, run.watermark["key"])
    existing = store_runs.report_of(session, run.id)  # read once for the summary and the save
    summary = build_summary(session, run, report=existing)
    saved = store_runs.save_report(session, run, summary, html="", existing=existing)  # rendered when read: report_page
    events.run_finished(session, run)  # last: an event id should be taken just before its commit
    return {"report_id": saved.id, "status": run.status}


STAGES: dict[str, StageFn] = {
    "collect": collect, "evaluate": evaluate, "detect": detect, "alert": alert,
    "schedule_recovery": schedule_recovery, "report": report,
}
