"""Recovery actions: executed once, whatever the broker does; and the sweeper that finds lost ones."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from monitor import audit, failpoints
from monitor.alerts import delivery
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.db.schema import CheckRun, RecoveryAction, utcnow
from monitor.recovery import ACTIONS, ActionContext
from monitor.recovery import schedule
from monitor.store import models as store_models, runs as store_runs
from tasks.base import RELIABLE
from workers.app import app


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
        if outcome.ok:
            audit.record(session, actor=audit.SYSTEM, action=action.kind, subject=f"recovery:{action_id}",
                         reason=action.reason, model_id=action.model_id, details=outcome.to_json())
    failpoints.hit(settings.failpoints, "recovery.after")
    return {"action_id": action_id, "state": "succeeded" if outcome.ok else "failed", "summary": outcome.summary}


@app.task(name="tasks.recovery.sweep", **RELIABLE)
def sweep() -> dict:
    """Re-send what a broker lost; mark actions whose worker died mid-run.

    Actions overdue by more than a grace period get a new message (the claim lets one run);
    notifications stuck pending or with an expired lease get a new delivery; an action left
    ``running`` past the task time limit failed with its worker and is not re-run automatically.
    """
    from tasks.alerts import deliver

    settings = get_settings()
    grace = dt.timedelta(seconds=max(30.0, 2 * settings.sweep_interval))
    with session_scope(settings.effective_database_url) as session:
        # A chain's publish can be lost between opening its run and sending it; after a long
        # grace (a busy queue is not a lost message) the run is launched again.
        stuck = [(r.id, r.model_id) for r in store_runs.stuck_runs(
            session, dt.timedelta(seconds=max(600.0, 2 * settings.task_time_limit)))]
        names = {m.id: m.name for m in store_models.list_models(session)} if stuck else {}
        overdue = [a.id for a in schedule.overdue(session, grace)]
        stale = delivery.stale(session, grace)
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
    for notification_id in stale:
        deliver.delay(notification_id)
    return {"relaunched_runs": [r for r, _ in stuck], "resent_actions": overdue,
            "resent_notifications": stale, "lost_actions": lost}
