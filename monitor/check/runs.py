"""Opening check runs: for a schedule, a person, or a registry event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
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
    if version is None:
        model, version = store_models.get_model_and_serving(session, model_name)
    else:
        model = store_models.get_model(session, model_name)
    if trigger == "schedule":
        start, end = scheduled_window(now, model.every_seconds, model.window_seconds)
    else:
        start, end = window_ending_now(now, model.window_seconds)
    run_id, created = store_runs.open_run_id(session, model_id=model.id, model_name=model.name, version=version,
                                             trigger=trigger, start=start, end=end, rerun=rerun)
    return OpenedRun(run_id, model.name, created)


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
    return [due.model for due in _due(session, now or utcnow())]


def open_due_runs(session: Session, now: dt.datetime | None = None) -> list[OpenedRun]:
    """Open the run of every due model in one transaction; returns the runs this call created.

    One query reads every active model with its serving version, one query per ``CHUNK`` of
    them finds the windows that have a run already, and one ``INSERT ... ON CONFLICT DO NOTHING
    RETURNING`` per chunk opens the rest: the cost per model is a few microseconds of SQL, not
    three round trips. A run another dispatcher inserted first is not returned, so exactly one
    dispatcher publishes each chain (the same unique ``dedup_key`` as :func:`open_check`).
    """
    created: list[OpenedRun] = []
    for part in due_batches(session, now or utcnow()):
        created += open_batch(session, part)
    return created


def open_due_in_batches(url: str, now: dt.datetime | None = None, size: int | None = None) -> Iterator[list[OpenedRun]]:
    """:func:`open_due_runs` one committed batch at a time, for a dispatcher that publishes each
    batch before opening the next.

    With 10,000 models, publishing the chains is what takes time (two broker round trips per
    chain), not opening the runs: one transaction for the whole fleet kept every run unpublished
    until the last insert, and a dispatcher that died in between left them all to the sweeper.
    Here the fleet is read once (read-only: a cycle with nothing due writes nothing), then each
    batch is opened in its own transaction and yielded after its commit, so the first checks
    start while later batches are still being opened and published.
    """
    from monitor.db.engine import session_scope

    now = now or utcnow()
    with session_scope(url) as session:
        batches = due_batches(session, now, size or CHUNK)
    for part in batches:
        with session_scope(url) as session:
            opened = open_batch(session, part)
        yield opened


def open_batch(session: Session, part: list[DueRun]) -> list[OpenedRun]:
    """Insert the runs of ``part`` (one statement); the ones another dispatcher opened first are
    left out, so each chain is published by exactly one dispatcher."""
    inserted = set(store_runs.open_runs(session, [d.run for d in part]))
    return [OpenedRun(d.run["id"], d.model, True) for d in part if d.run["id"] in inserted]


#: models per query when the dispatcher looks up and opens runs (well under SQLite's 32,766
#: bound parameters per statement)
CHUNK = 500


@dataclass(frozen=True)
class DueRun:
    model: str
    run: dict


def due_batches(session: Session, now: dt.datetime, size: int | None = None) -> list[list[DueRun]]:
    """The due models' new runs (not inserted yet), in batches of ``size`` (default ``CHUNK``)."""
    size = size or CHUNK
    candidates = []
    for model_id, name, every, window, version in store_models.active_with_serving(session):
        start, end = scheduled_window(now, every, window)
        candidates.append(DueRun(name, store_runs.run_row(model_id=model_id, model_name=name, version=version,
                                                        trigger="schedule", start=start, end=end)))
    due = []
    for start in range(0, len(candidates), CHUNK):
        part = candidates[start:start + CHUNK]
        taken = store_runs.existing_keys(session, [c.run["dedup_key"] for c in part])
        due += [c for c in part if c.run["dedup_key"] not in taken]
    return [due[start:start + size] for start in range(0, len(due), size)]


def _due(session: Session, now: dt.datetime) -> list[DueRun]:
    return [d for part in due_batches(session, now) for d in part]
