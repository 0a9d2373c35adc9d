"""The check chain: ``run_check`` opens a run, then collect -> evaluate -> detect -> alert ->
schedule_recovery -> report, each a task that passes ``{"run_id": ...}`` along.

Each stage task is thin: ``monitor.check.stages`` claims the stage and does the work; the task
publishes what the stage asked for (notifications, recovery actions) to the other task modules
*by name* (``app.signature("tasks.recovery.execute", ...)``), so this module imports neither
``tasks.alerts`` nor ``tasks.recovery``."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import Task

from monitor import failpoints
from monitor.check import stages
from monitor.check.results import AlertResult, RecoveryPlan
from monitor.check.runs import open_check
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.recovery.schedule import mark_dispatched
from tasks.base import BROKER_ERRORS, RELIABLE, TRANSIENT, revoke
from tasks import publish
from tasks.publish import launch
from workers.app import app

logger = logging.getLogger(__name__)


class StageTask(Task):
    """What a stage task that failed for good does to its run.

    A permanent error (bad data, a bug) fails the run with its reason (``stages.abandon``). A
    transient one (database or broker unreachable through every retry) does not: the run's
    stored stages are intact, so it stays open and the sweeper re-drives it from its first
    unfinished stage once it has made no progress for ``redrive_after`` (``monitor.check.redrive``).
    Retries themselves do not come here, nor a retry Celery could not publish (it rejects those).
    """

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        run = args[0] if args else kwargs.get("run")
        if not isinstance(run, dict) or not run.get("run_id"):
            return
        stage = self.name.rsplit(".", 1)[-1]
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
    """Open the run for ``model``'s current window and start its chain (once per window).

    ``celery -A workers.app call tasks.check.run_check --args='["churn"]'`` forces a check.
    """
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        opened = open_check(session, model, trigger=trigger, version=version, rerun=rerun)
    if opened.created:
        launch(opened.run_id, model, forced=trigger != "schedule")
    return {"run_id": opened.run_id, "model": model, "created": opened.created}


def _run(name: str, run: dict[str, Any]) -> dict[str, Any]:
    output = stages.run_stage(get_settings(), run["run_id"], name, stages.STAGES[name])
    return {"run_id": run["run_id"], "model": run.get("model"), name: output}


def _done(name: str, result: dict[str, Any]) -> dict[str, Any]:
    """The ``<stage>.after`` failpoint: the stage's work and hand-offs are done, the message unacked."""
    failpoints.hit(get_settings().failpoints, f"{name}.after")
    return result


@app.task(name="tasks.check.collect", **STAGE)
def collect(run: dict) -> dict:
    return _done("collect", _run("collect", run))


@app.task(name="tasks.check.evaluate", **STAGE)
def evaluate(run: dict) -> dict:
    return _done("evaluate", _run("evaluate", run))


@app.task(name="tasks.check.detect", **STAGE)
def detect(run: dict) -> dict:
    return _done("detect", _run("detect", run))


@app.task(name="tasks.check.alert", **STAGE)
def alert(run: dict) -> dict:
    result = _run("alert", run)
    output = AlertResult.from_json(result["alert"])
    _deliver(output.notifications)
    for cancelled in output.cancelled_actions:
        revoke(cancelled["task_id"])  # best effort: the cancelled action's claim refuses it anyway
    return _done("alert", result)


@app.task(name="tasks.check.schedule_recovery", **STAGE)
def schedule_recovery(run: dict) -> dict:
    result = _run("schedule_recovery", run)
    plan = RecoveryPlan.from_json(result["schedule_recovery"])
    _deliver(plan.notifications)  # a failed recovery escalates
    for action in plan.actions:
        sent = app.signature("tasks.recovery.execute", args=[action["id"]]).apply_async(
            eta=dt.datetime.fromisoformat(action["eta"]))
        with session_scope(get_settings().effective_database_url) as session:
            mark_dispatched(session, action["id"], sent.id)
    return _done("schedule_recovery", result)


def _deliver(notification_ids: list[int]) -> None:
    """One ``tasks.alerts.deliver`` per notification, published by name (no import of the task)."""
    for notification_id in notification_ids:
        app.signature("tasks.alerts.deliver", args=[notification_id]).apply_async()


@app.task(name="tasks.check.report", **STAGE)
def report(run: dict) -> dict:
    result = _run("report", run)
    if get_settings().graphite_host:  # on the alerts queue: a dead carbon never holds up the check
        publish.export_graphite(run["run_id"])
    return _done("report", result)
