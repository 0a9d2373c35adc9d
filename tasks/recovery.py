"""Recovery actions: executed once, whatever the broker does; and the sweeper that finds lost ones."""

from __future__ import annotations

import datetime as dt
import logging

from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import update

from monitor import audit, failpoints
from monitor.alerts import delivery
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.db.schema import CheckRun, RecoveryAction, utcnow
from monitor.recovery import ACTIONS, ActionContext
from monitor.recovery import approval, schedule, verification
from monitor.store import models as store_models, runs as store_runs
from tasks.base import RELIABLE
from workers.app import app

logger = logging.getLogger(__name__)


@app.task(name="tasks.recovery.execute", **RELIABLE)
def execute(action_id: int) -> dict:
    """Run a scheduled action if this delivery wins its ``scheduled -> running`` claim.

    The claim commits before the action starts: a second delivery (Redis redelivers ETA tasks
    older than the visibility timeout; the sweeper re-sends lost ones) finds it taken and returns.
    """
    settings = get_settings()
    url = settings.effective_database_url
    with session_scope(url) as session:
        action = schedule.claim(session, action_id)
        if action is None:
            current = session.get(RecoveryAction, action_id)
            return {"action_id": action_id, "skipped": True, "state": current.state if current else None}
    with session_scope(url) as session:
        action = session.get(RecoveryAction, action_id)
        run = session.get(CheckRun, action.run_id)
        stale = schedule.stale_reason(session, action.model_id, run.version if run else None)
        if stale:
            schedule.finish(session, action_id, False, {"summary": f"not run: {stale}"}, f"stale: {stale}")
            return {"action_id": action_id, "state": "failed", "stale": stale}
        model = store_models.get_model_by_id(session, action.model_id)
        context = ActionContext(session, model, store_models.spec_of(model), action)
        try:
            outcome = ACTIONS[action.kind](context)
        except Exception as exc:  # the action's own failure is its result, recorded, not retried
            session.rollback()
            with session_scope(url) as failed:
                schedule.finish(failed, action_id, False, {}, f"{type(exc).__name__}: {exc}")
            return {"action_id": action_id, "state": "failed", "error": str(exc)}
        schedule.finish(session, action_id, outcome.ok, outcome.to_json(), None if outcome.ok else outcome.summary)
        verify_at = None
        if outcome.ok:
            audit.record(session, actor=audit.SYSTEM, action=action.kind, subject=f"recovery:{action_id}",
                         reason=action.reason, model_id=action.model_id, details=outcome.to_json())
            verify_at = verification.schedule_follow_up(session, action, context.spec)
    if verify_at is not None:  # the sweeper re-sends it if this message is lost
        verify.apply_async(args=[action_id], eta=verify_at)
    failpoints.hit(settings.failpoints, "recovery.after")
    return {"action_id": action_id, "state": "succeeded" if outcome.ok else "failed", "summary": outcome.summary}


@app.task(name="tasks.recovery.verify", **RELIABLE)
def verify(action_id: int) -> dict:
    """Open the follow-up check of a recovery action (trigger ``verification``), once.

    The ``due -> checking`` claim and the new run commit together; the run's own
    ``schedule_recovery`` stage records the outcome on the action.
    """
    from monitor.check.runs import open_check
    from tasks.check import launch

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        action = verification.claim(session, action_id)
        if action is None:
            current = session.get(RecoveryAction, action_id)
            return {"action_id": action_id, "skipped": True,
                    "verification_state": current.verification_state if current else None}
        model = store_models.get_model_by_id(session, action.model_id)
        opened = open_check(session, model.name, trigger="verification", rerun=True)
        verification.attach_run(session, action, opened.run_id)
    launch(opened.run_id, model.name)
    return {"action_id": action_id, "run_id": opened.run_id}


def grace(settings) -> dt.timedelta:
    """How late a scheduled message may be before the sweeper takes it for lost."""
    if settings.recovery_grace is not None:
        return dt.timedelta(seconds=settings.recovery_grace)
    return dt.timedelta(seconds=max(30.0, 2 * settings.sweep_interval))


@app.task(name="tasks.recovery.sweep", **RELIABLE)
def sweep() -> dict:
    """Re-send what a broker lost; mark actions whose worker died mid-run.

    Actions and verifications overdue by more than a grace period get a new message (their
    claims let one run); notifications stuck pending or with an expired lease get a new delivery;
    an action left ``running`` past the task time limit failed with its worker and is not re-run
    automatically; an action still waiting for approval past its deadline expires.
    """
    from tasks.alerts import deliver

    settings = get_settings()
    late = grace(settings)
    with session_scope(settings.effective_database_url) as session:
        expired = approval.expire_unapproved(session)
        unverified = verification.overdue(session, late)
        verification.close_failed(session)
        # A chain's publish can be lost between opening its run and sending it; after a long
        # grace (a busy queue is not a lost message) the run is launched again.
        stuck = [(r.id, r.model_id) for r in store_runs.stuck_runs(
            session, dt.timedelta(seconds=max(600.0, 2 * settings.task_time_limit)))]
        names = {m.id: m.name for m in store_models.list_models(session)} if stuck else {}
        overdue = [a.id for a in schedule.overdue(session, late)]
        stale = delivery.stale(session, late)
        delivery.give_up(session)
        lost = session.execute(
            update(RecoveryAction)
            .where(RecoveryAction.state == "running",
                   RecoveryAction.started_at < utcnow() - dt.timedelta(seconds=settings.task_time_limit + 60))
            .values(state="failed", finished_at=utcnow(),
                    error="the worker running this action was lost; not re-run automatically")
        ).rowcount
    from tasks.check import launch

    for run_id, model_id in stuck:
        launch(run_id, names.get(model_id, ""))
    for action_id in overdue:
        execute.delay(action_id)
    for action_id in unverified:
        verify.delay(action_id)
    for notification_id in stale:
        deliver.delay(notification_id)
    return {"relaunched_runs": [r for r, _ in stuck], "resent_actions": overdue, "resent_verifications": unverified,
            "expired_actions": expired, "resent_notifications": stale, "lost_actions": lost}


BROKER_ERRORS = (OSError, KombuOperationalError)


def publish(action_id: int, eta: dt.datetime) -> str | None:
    """Send an approved action's message for its ETA and note it on the action.

    The approval is already committed: if the broker cannot be reached, the action stays
    ``scheduled`` and the sweeper sends it once it is overdue. Returns the task id, or None then.
    """
    try:
        sent = execute.apply_async(args=[action_id], eta=eta)
    except BROKER_ERRORS as exc:
        logger.warning("recovery action %s approved but not published (%s); the sweeper will send it", action_id, exc)
        return None
    with session_scope(get_settings().effective_database_url) as session:
        schedule.mark_dispatched(session, action_id, sent.id)
    return sent.id


def revoke(task_id: str | None) -> None:
    """Tell the workers to drop a cancelled action's message. Best effort: its claim refuses it anyway."""
    if not task_id:
        return
    try:
        app.control.revoke(task_id)
    except BROKER_ERRORS as exc:
        logger.warning("could not revoke task %s (%s); the cancelled action's claim will refuse it", task_id, exc)
