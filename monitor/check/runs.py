"""Opening check runs: for a schedule, a person, or a registry event."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monitor.check.windows import scheduled_window, window_ending_now
from monitor.db.schema import utcnow
from monitor.store import models as store_models, runs as store_runs

TRIGGERS = ("schedule", "manual", "registry", "verification")  # verification: after a recovery action


@dataclass(frozen=True)
class OpenedRun:
    run_id: str
    model: str
    created: bool


def open_check(session: Session, model_name: str, *, trigger: str, version: str | None = None,
               rerun: bool = False, now: dt.datetime | None = None) -> OpenedRun:
    """Create (or find) the run a check request asks for.

    The version checked is the one named (a registry event names its new version), else the
    serving version, else all rows of the model.
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {TRIGGERS}, got {trigger!r}")
    now = now or utcnow()
    model = store_models.get_model(session, model_name)
    if version is None:
        serving = store_models.serving_version(session, model.id)
        version = serving.version if serving else None
    if trigger == "schedule":
        start, end = scheduled_window(now, model.every_seconds, model.window_seconds)
    else:
        start, end = window_ending_now(now, model.window_seconds)
    run, created = store_runs.open_run(session, model_id=model.id, model_name=model.name, version=version,
                                       trigger=trigger, start=start, end=end, rerun=rerun)
    return OpenedRun(run.id, model.name, created)


def withdraw(session: Session, run_id: str) -> bool:
    """Delete a run that was opened but whose chain could not be published (the broker is down),
    so the request that opened it can answer "nothing done, retry". Only a run no stage has
    touched is deleted; True if it was."""
    from sqlalchemy import delete

    from monitor.db.schema import CheckRun

    deleted = session.execute(delete(CheckRun).where(CheckRun.id == run_id, CheckRun.status == "pending"))
    return bool(deleted.rowcount)


def due_models(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Models whose current scheduled window has no run yet."""
    from sqlalchemy import select

    from monitor.db.schema import CheckRun

    now = now or utcnow()
    due = []
    for model in store_models.list_models(session):
        if model.status != "active":
            continue
        serving = store_models.serving_version(session, model.id)
        start, end = scheduled_window(now, model.every_seconds, model.window_seconds)
        key = store_runs.window_key(model.name, serving.version if serving else None, start, end)
        if session.scalar(select(CheckRun.id).where(CheckRun.dedup_key == key)) is None:
            due.append(model.name)
    return due
