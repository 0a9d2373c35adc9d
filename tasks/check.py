"""The check run: ``run_check`` opens a run, then ``run_stages`` runs its six stages, collect ->
evaluate -> detect -> alert -> schedule_recovery -> report, back to back in one worker process:
one message per run, not one per stage.

Each stage keeps its own claim and transaction (``monitor.check.stages.run_stage``): a stage that
already succeeded returns its stored output, so a redelivered, retried or re-driven message
resumes where its run stopped and runs no stage twice. What a stage asked for (notifications,
recovery actions, the Graphite export) is published right after that stage committed, before the
next one starts, to the other task modules *by name* (``app.signature("tasks.recovery.execute",
...)``), so this module imports neither ``tasks.alerts`` nor ``tasks.recovery``.

The per-stage tasks (``tasks.check.collect`` ... ``tasks.check.report``) stay for the messages an
earlier version queued (one per stage, chained): each runs its one stage the same way and its
chain publishes the next, so an upgrade with runs in flight loses none.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from monitor import failpoints
from monitor.check import stages
from monitor.check.progress import resume_at
from monitor.check.results import AlertResult, RecoveryPlan
from monitor.check.runs import open_check
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.recovery.schedule import mark_dispatched
from tasks.base import BROKER_ERRORS, RELIABLE, TRANSIENT, revoke
from tasks import publish
from tasks.publish import RUN_STAGES, launch
from workers.app import app
from workers.celeryconfig import run_priority

logger = logging.getLogger(__name__)

#: The stages in the order a run goes through them.
ORDER = tuple(stages.STAGES)


class StageTask(Task):
    """What a stage task does when it fails or retries.

    Which stage: the one ``run_stages`` was at (``request.stage``, set before each stage), else the
    stage a per-stage task is named after. A permanent error (bad data, a bug) fails the run with
    its reason (``stages.abandon``). A transient one (database or broker unreachable through every
    retry) does not: the run's stored stages are intact, so it stays open and the sweeper re-drives
    it from where it resumes (``monitor.check.progress``) once it has made no progress for ``redrive_after``
    (``monitor.check.redrive``). Retries themselves do not come here, nor a retry Celery could not
    publish (it rejects those).
    """

    def stage_of(self, run: dict[str, Any]) -> str:
        current = getattr(self.request, "stage", None)
        if current:
            return current
        named = self.name.rsplit(".", 1)[-1]
        return named if named in stages.STAGES else run.get("from") or ORDER[0]

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None,
              **options):
        """A retry of ``run_stages`` (autoretry on a transient error) resumes at the stage that
        failed, with that stage's priority: the stages before it are done and their hand-offs sent."""
        current = getattr(self.request, "stage", None)
        if current and args is None and kwargs is None:
            if self.request.args:
                args = [{**self.request.args[0], "from": current}, *self.request.args[1:]]
            elif isinstance((self.request.kwargs or {}).get("run"), dict):
                kwargs = {**self.request.kwargs, "run": {**self.request.kwargs["run"], "from": current}}
            options.setdefault("priority", run_priority(current))
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        run = args[0] if args else kwargs.get("run")
        if not isinstance(run, dict) or not run.get("run_id"):
            return
        stage = self.stage_of(run)
        if stages.is_transient(exc) or isinstance(exc, TRANSIENT + BROKER_ERRORS):
            logger.warning("run %s: %s gave up on a transient error (%s: %s); the sweeper will re-drive it",
                           run["run_id"], stage, type(exc).__name__, exc)
            return
        try:
            stages.abandon(get_settings(), run["run_id"], stage, f"{type(exc).__name__}: {exc}")
        except Exception:  # the database may be what failed; the sweeper re-drives, then fails, the run
            logger.exception("could not mark run %s failed after its %s stage gave up", run["run_id"], stage)


STAGE = {**RELIABLE, "base": StageTask}


@app.task(name="tasks.check.run_check", **RELIABLE)
def run_check(model: str, trigger: str = "manual", version: str | None = None, rerun: bool = False) -> dict:
    """Open the run for ``model``'s current window and start its stages (once per window).

    ``celery -A workers.app call tasks.check.run_check --args='["churn"]'`` forces a check.
    """
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        opened = open_check(session, model, trigger=trigger, version=version, rerun=rerun)
    if opened.created:
        launch(opened.run_id, model, forced=trigger != "schedule")
    return {"run_id": opened.run_id, "model": model, "created": opened.created}


@app.task(name=RUN_STAGES, bind=True, **STAGE)
def run_stages(self, run: dict) -> dict:
    """Run the stages of ``run`` from ``run["from"]`` (default ``collect``) to ``report``.

    A message Redis hands out again (its worker died) starts where the database says the run
    stopped (``monitor.check.progress.resume_at``, the stage the sweeper re-drives from too), not
    at its ``from``. Returns every stage's output, as the per-stage tasks did one at a time.
    """
    start = run.get("from") or ORDER[0]
    if (self.request.delivery_info or {}).get("redelivered"):
        start = resume_at(stages.progress(get_settings(), run["run_id"]))
        logger.info("run %s: message redelivered, resuming at %s", run["run_id"], start)
    result = {"run_id": run["run_id"], "model": run.get("model")}
    for index, name in enumerate(ORDER[ORDER.index(start):]):
        self.request.stage = name  # for retry and on_failure
        try:
            result[name] = _stage(name, run, interruptions=(SoftTimeLimitExceeded,) if index else ())
        except SoftTimeLimitExceeded:
            if not index:  # the stage had the task's whole time limit to itself: it fails the run
                raise
            # The time limit bounds a task, and a stage should have it to itself as when each
            # stage was a task: the run goes on from this stage in a new task.
            logger.warning("run %s: the task's time limit came during %s; it goes on in a new task",
                           run["run_id"], name)
            launch(run["run_id"], run.get("model"), from_stage=name)
            return {**result, "continued_at": name}
    return result


def _stage(name: str, run: dict[str, Any], interruptions: tuple[type[BaseException], ...] = ()) -> dict[str, Any]:
    """One stage: run it (or take its stored output), publish what it asked for, then the
    ``<stage>.after`` failpoint (the stage's work and hand-offs done, the message unacked)."""
    settings = get_settings()
    output = stages.run_stage(settings, run["run_id"], name, stages.STAGES[name], interruptions)
    hand_off = HAND_OFFS.get(name)
    if hand_off is not None:
        hand_off(run, output)
    failpoints.hit(settings.failpoints, f"{name}.after")
    return output


def _after_alert(run: dict[str, Any], output: dict[str, Any]) -> None:
    result = AlertResult.from_json(output)
    _deliver(result.notifications)
    for cancelled in result.cancelled_actions:
        revoke(cancelled["task_id"])  # best effort: the cancelled action's claim refuses it anyway


def _after_schedule_recovery(run: dict[str, Any], output: dict[str, Any]) -> None:
    plan = RecoveryPlan.from_json(output)
    _deliver(plan.notifications)  # a failed recovery escalates
    for action in plan.actions:
        sent = app.signature("tasks.recovery.execute", args=[action["id"]]).apply_async(
            eta=dt.datetime.fromisoformat(action["eta"]))
        with session_scope(get_settings().effective_database_url) as session:
            mark_dispatched(session, action["id"], sent.id)


def _after_report(run: dict[str, Any], output: dict[str, Any]) -> None:
    if get_settings().graphite_host:  # on the alerts queue: a dead carbon never holds up the check
        publish.export_graphite(run["run_id"])


#: What a stage's task publishes once the stage committed (and again when a redelivered or
#: re-driven run resumes at that stage). Their stages are ``monitor.check.progress.HAND_OFF_STAGES``,
#: which decides where a run resumes: a stage added here must be added there.
HAND_OFFS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "alert": _after_alert, "schedule_recovery": _after_schedule_recovery, "report": _after_report}


def _deliver(notification_ids: list[int]) -> None:
    """One ``tasks.alerts.deliver`` per notification, published by name (no import of the task)."""
    for notification_id in notification_ids:
        app.signature("tasks.alerts.deliver", args=[notification_id]).apply_async()


def _one(name: str, run: dict[str, Any]) -> dict[str, Any]:
    """A per-stage message of an earlier version: its one stage; its chain publishes the next."""
    return {"run_id": run["run_id"], "model": run.get("model"), name: _stage(name, run)}


@app.task(name="tasks.check.collect", **STAGE)
def collect(run: dict) -> dict:
    return _one("collect", run)


@app.task(name="tasks.check.evaluate", **STAGE)
def evaluate(run: dict) -> dict:
    return _one("evaluate", run)


@app.task(name="tasks.check.detect", **STAGE)
def detect(run: dict) -> dict:
    return _one("detect", run)


@app.task(name="tasks.check.alert", **STAGE)
def alert(run: dict) -> dict:
    return _one("alert", run)


@app.task(name="tasks.check.schedule_recovery", **STAGE)
def schedule_recovery(run: dict) -> dict:
    return _one("schedule_recovery", run)


@app.task(name="tasks.check.report", **STAGE)
def report(run: dict) -> dict:
    return _one("report", run)
