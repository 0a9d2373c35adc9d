"""Recovery actions: executed once, whatever the broker does; and the sweeper that finds lost ones.

Each task claims, makes one ``monitor.recovery`` call and publishes what that call asks for,
by task name (``tasks.publish``): this module imports no other task module.
"""

from __future__ import annotations

from monitor import failpoints
from monitor.check.runs import open_check
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.db.schema import RecoveryAction
from monitor.recovery import execution, schedule, sweep as sweeper, verification
from monitor.store import models as store_models
from tasks import publish
from tasks.base import RELIABLE
from workers import queued_runs
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
        if schedule.claim(session, action_id) is None:
            current = session.get(RecoveryAction, action_id)
            return {"action_id": action_id, "skipped": True, "state": current.state if current else None}
    done = execution.execute(url, action_id)
    if done.verify_at is not None:  # the sweeper re-sends it if this message is lost
        publish.send_verification(action_id, done.verify_at)
    if done.ran:
        failpoints.hit(settings.failpoints, "recovery.after")
    return done.to_json()


@app.task(name="tasks.recovery.verify", **RELIABLE)
def verify(action_id: int) -> dict:
    """Open the follow-up check of a recovery action (trigger ``verification``), once.

    The ``due -> checking`` claim and the new run commit together; the run's own
    ``schedule_recovery`` stage records the outcome on the action.
    """
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
    publish.launch(opened.run_id, model.name, forced=True)
    return {"action_id": action_id, "run_id": opened.run_id}


@app.task(name="tasks.recovery.sweep", **RELIABLE)
def sweep() -> dict:
    """Re-send what a broker lost; mark actions whose worker died mid-run.

    Actions and verifications overdue by more than a grace period get a new message (their
    claims let one run); notifications stuck pending or with an expired lease get a new delivery;
    a run with no progress for ``redrive_after`` is re-driven from where it resumes
    (``monitor.check.progress.resume_at``: the stage after its last success, or that hand-off stage), with
    its priority, unless no stage started and its first message is still in the broker
    (``monitor.check.redrive``, ``workers.queued_runs``); an action left ``running`` past the task time
    limit failed with its worker and is not re-run automatically; an action still waiting for
    approval past its deadline expires (``monitor.recovery.sweep``).
    """
    settings = get_settings()
    with app.pool.acquire(block=True) as broker, session_scope(settings.effective_database_url) as session:
        found = sweeper.find(session, settings, queued=lambda run_ids: queued_runs.published(run_ids, broker))
    for lost in found.redrive_runs:
        publish.launch(lost.run_id, lost.model, from_stage=lost.stage, forced=lost.forced)
    for action_id in found.resend_actions:
        execute.delay(action_id)
    for action_id in found.resend_verifications:
        publish.send_verification(action_id)
    for notification_id in found.resend_notifications:
        publish.deliver(notification_id)
    return found.to_json()
