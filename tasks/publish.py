"""Publishing work to the queue, by task name: what the front doors and the tasks send.

The domain (``monitor/``) never publishes; a front door (CLI, API, the demo) or a task does,
through these functions. They address tasks by name (``app.signature("tasks.recovery.execute")``),
so this module and its callers import no task module: ``tasks/check.py`` and
``tasks/recovery.py`` do not import each other, and a process that only publishes (the API, the
CLI) need not import every task. Routing to queues follows the names (``workers/celeryconfig.py``).

>>> from tasks.publish import RUN_STAGES
>>> RUN_STAGES
'tasks.check.run_stages'
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.recovery import schedule
from monitor.registry import on_model_update
from tasks.base import BROKER_ERRORS, revoke
from workers import queued_runs
from workers.app import app
from workers.celeryconfig import RUN_STAGES, run_priority

logger = logging.getLogger(__name__)

__all__ = ["RUN_STAGES", "deliver", "enqueue_check", "export_graphite", "launch", "launch_many", "register_version", "revoke", "send_approved",
           "send_recovery", "send_verification"]



def enqueue_check(model: str, *, trigger: str = "manual", version: str | None = None,
                  countdown: float = 0, rerun: bool = False) -> str:
    """Publish ``tasks.check.run_check`` (it opens the run and launches its chain); returns the task id."""
    kwargs = {"trigger": trigger, "version": version, "rerun": rerun}
    return app.signature("tasks.check.run_check").apply_async(args=[model], kwargs=kwargs,
                                                               countdown=countdown or None).id


def launch(run_id: str, model: str, from_stage: str = "collect", *, forced: bool = False) -> str:
    """Publish the stages of a run that is already open: one ``RUN_STAGES`` message, whose one
    argument is ``{"run_id", "model", "from": stage}``; returns its task id.

    ``from_stage`` is where the sweeper re-drives a lost run (``monitor.check.redrive``): the
    stages before it succeeded and are not run again; a stage a late original already finished
    returns its stored output, so a re-drive racing the original changes nothing. The message
    carries the priority of the stage it starts at (``workers.celeryconfig.run_priority``): a
    re-driven run goes ahead of new collects, and a ``forced`` run (a person or a registry asked
    for it) starts ahead of the scheduled fleet's collects, re-driven or not. A run published from
    ``collect`` is noted in the broker (``workers.queued_runs``) so that the sweeper leaves a run
    waiting in a long queue alone. Messages go out through the app's pool of broker connections,
    and the note through the same broker.
    """
    if from_stage != "collect":
        return _publish_run(run_id, model, from_stage, forced)
    return _noted_and_published([(run_id, model)], forced)[0]


def launch_many(runs: list[tuple[str, str]]) -> int:
    """:func:`launch` for many new scheduled runs ``(run_id, model)`` (a dispatcher's batch), with
    one round trip for all their notes. Returns how many were published."""
    return len(_noted_and_published(runs, False))


def _noted_and_published(runs: list[tuple[str, str]], forced: bool) -> list[str]:
    """Publish the runs' messages, then note them in the broker, in one round trip. The note goes
    after the message, so a replica promoted after a failover that has a note has its message too.
    A worker may start a run before its note is written: that note then outlives its run
    (harmless, a started run's note is never read) until it is pruned after
    ``redrive_queued_after``. A publish that fails still notes the runs it sent, then raises."""
    task_ids: list[str] = []
    try:
        for run_id, model in runs:
            task_ids.append(_publish_run(run_id, model, "collect", forced))
    finally:
        if task_ids:
            with app.producer_or_acquire() as producer:
                queued_runs.record([run_id for run_id, _ in runs[:len(task_ids)]], producer.connection)
    return task_ids


def _publish_run(run_id: str, model: str, from_stage: str, forced: bool) -> str:
    head = {"run_id": run_id, "model": model, "from": from_stage}
    return app.signature(RUN_STAGES, args=[head], priority=run_priority(from_stage, forced)).apply_async().id


def deliver(notification_id: int) -> str:
    """Publish one notification's delivery (on the ``alerts`` queue)."""
    return app.signature("tasks.alerts.deliver").apply_async(args=[notification_id]).id


def export_graphite(run_id: str) -> str:
    """Publish a finished run's export to Graphite (on the ``alerts`` queue, retried there)."""
    return app.signature("tasks.export.graphite").apply_async(args=[run_id]).id


def send_recovery(action_id: int, eta: dt.datetime) -> str:
    """Publish a scheduled action's ``tasks.recovery.execute`` for its ETA and note the task id on it.

    The note (``celery_task_id``) is what a cancel revokes. Broker errors propagate.
    """
    sent = app.signature("tasks.recovery.execute").apply_async(args=[action_id], eta=eta)
    with session_scope(get_settings().effective_database_url) as session:
        schedule.mark_dispatched(session, action_id, sent.id)
    return sent.id


def send_approved(action_id: int, eta: dt.datetime) -> str | None:
    """:func:`send_recovery` for an action a person just approved; None when the broker is down.

    The approval is already committed: if the broker cannot be reached, the action stays
    ``scheduled`` and the sweeper sends it once it is overdue.
    """
    try:
        return send_recovery(action_id, eta)
    except BROKER_ERRORS as exc:
        logger.warning("recovery action %s approved but not published (%s); the sweeper will send it", action_id, exc)
        return None


def send_verification(action_id: int, eta: dt.datetime | None = None) -> str:
    """Publish the follow-up check of a recovery action (``tasks.recovery.verify``), at ``eta``."""
    return app.signature("tasks.recovery.verify").apply_async(args=[action_id], eta=eta).id


def register_version(name: str, version: str, **options: Any) -> dict[str, Any]:
    """What a registry calls from Python: record a new version, then enqueue its check.

    Takes ``monitor.registry.on_model_update``'s options (``reference``, ``artifact``,
    ``serving``, ``source``, ``details``, ``settings``). The check is enqueued after the spec's
    ``registry_check_delay`` so that it sees the new version's traffic; the result gains its
    ``task_id``.

        from tasks.publish import register_version
        register_version("churn", "2", reference="holdout_v2.parquet", artifact=model_bytes)
    """
    recorded = on_model_update(name, version, **options)
    task_id = enqueue_check(name, trigger="registry", version=recorded["version"],
                            countdown=recorded["check_delay"])
    return {**recorded, "task_id": task_id}
