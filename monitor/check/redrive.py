"""Re-driving check runs whose chain was lost, from where the run resumes (``monitor.check.progress``).

A run's chain lives in the broker: one message per stage, the next published when the previous
returns. A Redis restarted empty, a message dropped, or a stage whose retries could not even be
published (Celery rejects a task whose ``retry`` fails to publish) leaves the run ``pending`` or
``running`` with nothing queued to move it. The run's row says how far it got, and every stage is
idempotent and claims itself (``monitor.check.stages.run_stage``), so the sweeper publishes the
run again once it has made no progress for :attr:`Settings.redrive_after` seconds; a copy racing a
late original runs once. It publishes from the stage a redelivered message would resume at
(``progress.resume_at``): the first stage that has not succeeded, or the hand-off stage before it
(alert, schedule_recovery, report) when the next was never claimed. A worker that died after alert
committed but before its notifications were published leaves a run whose next stage never
started; re-driven from alert, the stage returns its stored output and its task publishes the
notifications again (their claims send each once), where a re-drive from schedule_recovery left
them pending until the notification sweep's grace ran out (``monitor.recovery.sweep``).

"No progress" is measured from the newest of the run's ``created_at``, each stage's
``started_at`` / ``finished_at`` and the last re-drive. A run that no stage has started is the
exception: with 10,000 models due at once, the last collect waits half an hour in the queue
without being lost, and re-driving it (a copy at the back of the same queue, then "failed" after
five) was wrong. So for those runs the sweeper asks the broker whether their first message is
still there (``queued``: the publisher notes each run beside its message and the worker drops the
note once ``collect`` has run, ``workers.queued_runs``): a run still queued waits, for up to
:attr:`Settings.redrive_queued_after`; a run whose note is gone with its message (a Redis restarted
empty, a publish that never happened) is re-driven after ``redrive_after`` as before. A stage still marked ``running`` may be
alive (a long evaluate): it is taken for lost only after ``task_time_limit`` more, since the hard
time limit ends any live attempt before then (once re-driven, it gets the short bound again until
the re-published copy starts). Each re-drive is counted on the entry of the stage it publishes from
(``redrives``, ``redriven_at``) and in the audit trail (action ``redrive``, actor ``system``),
which ``/metrics`` counts as ``modelwatch_runs_redriven_total``. A run re-driven
:attr:`Settings.redrive_limit` times without finishing is failed with that reason, so every run
reaches an end. A re-driven run keeps its priority: a forced run's collect still goes ahead of
the scheduled fleet's (``Redrive.forced``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from monitor import audit
from monitor.check.progress import first_unfinished, resume_at
from monitor.config import Settings
from monitor.db.schema import AuditEvent, CheckRun, utcnow
from monitor.db.schema.runs import OPEN_RUN, OPEN_STATUSES
from monitor.store import runs as store_runs

ACTION = "redrive"


@dataclass(frozen=True)
class Redrive:
    """One run to publish again, from ``stage`` on."""

    run_id: str
    model: str
    stage: str
    idle_seconds: float
    forced: bool = False  # a person, a registry or a verification asked for it (not the schedule)

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "model": self.model, "stage": self.stage,
                "idle_seconds": round(self.idle_seconds, 1), "forced": self.forced}


#: ``queued(run_ids)``: when each of those runs whose first message is still in the broker was
#: published (runs without one are left out); ``workers.queued_runs.published`` on a connection
QueuedLookup = Callable[[list[str]], dict[str, dt.datetime]]


def last_progress(run: CheckRun) -> dt.datetime:
    """When the run last moved: opened, a stage started or finished, or it was re-driven."""
    moments = [run.created_at]
    for entry in (run.stages or {}).values():
        for key in ("started_at", "finished_at", "redriven_at"):
            if entry.get(key):
                moments.append(dt.datetime.fromisoformat(entry[key]))
    return max(moments)


def idle_limit(run: CheckRun, settings: Settings) -> dt.timedelta:
    """How long ``run`` may make no progress before it counts as lost (longer while a stage runs).

    >>> from monitor.config import Settings
    >>> run = CheckRun(stages={"collect": {"state": "running", "started_at": "2026-01-01T00:00:00+00:00"}})
    >>> idle_limit(run, Settings(redrive_after=60, task_time_limit=360)).total_seconds()
    420.0
    >>> idle_limit(CheckRun(stages={}), Settings(redrive_after=60)).total_seconds()
    60.0
    """
    # The stage that may be running is the first unfinished one, not the resume stage: a run
    # resuming at a hand-off stage (succeeded) has a next stage that never started either way.
    entry = (run.stages or {}).get(first_unfinished(run.stages)) or {}
    running = entry.get("state") == "running" and entry.get("started_at", "") > entry.get("redriven_at", "")
    return dt.timedelta(seconds=settings.redrive_after + (settings.task_time_limit if running else 0))


def started(run: CheckRun) -> bool:
    """Whether any stage of ``run`` has started (a re-drive alone is not a start).

    >>> started(CheckRun(stages={"collect": {"redrives": 1, "redriven_at": "2026-01-01T00:00:00+00:00"}}))
    False
    """
    return any((entry or {}).get("started_at") for entry in (run.stages or {}).values())


def _lost(run: CheckRun, settings: Settings, now: dt.datetime) -> float | None:
    """Seconds without progress if ``run`` is open and past its limit, else None."""
    if run.status not in OPEN_STATUSES:
        return None
    idle = now - last_progress(run)
    return idle.total_seconds() if idle > idle_limit(run, settings) else None


def _still_queued(runs: list[CheckRun], settings: Settings, now: dt.datetime,
                  queued: QueuedLookup | None) -> set[str]:
    """The ids of ``runs`` that no stage started and whose first message is still in the broker,
    published less than ``redrive_queued_after`` ago: they wait in a queue, they are not lost."""
    never_started = [run.id for run in runs if not started(run)]
    if queued is None:
        return set()
    # asked even with no candidate: the lookup also prunes notes that a race left behind
    bound = dt.timedelta(seconds=settings.redrive_queued_after)
    return {run_id for run_id, at in queued(never_started).items() if now - at < bound}


def find(session: Session, settings: Settings, names: dict[int, str], now: dt.datetime | None = None,
         queued: QueuedLookup | None = None) -> list[Redrive]:
    """Mark every lost run as re-driven (or fail it past the limit) and return what to publish.

    The open runs are judged from one query first, so a fleet of 10,000 runs waiting in the queue
    costs the sweep one read (and one question to the broker), not 10,000 row locks. Each run
    judged lost is then locked and judged again before it is marked, so two sweeps at once (two
    beats) re-drive a run once on PostgreSQL; on SQLite a second copy is harmless anyway. Without
    ``queued`` (the broker cannot be asked) a run no stage started is judged by time alone. The
    caller publishes after this session commits: a publish that fails leaves the mark, and the
    next sweep after ``redrive_after`` tries again.
    """
    now = now or utcnow()
    candidates = session.execute(open_runs_before(now - dt.timedelta(seconds=settings.redrive_after))).all()
    idle = [run for run in candidates if _lost(run, settings, now) is not None]
    waiting = _still_queued(idle, settings, now, queued)
    found = []
    for run_id in (run.id for run in idle if run.id not in waiting):
        run = store_runs.lock_run(session, run_id)
        idle_seconds = _lost(run, settings, now)
        if idle_seconds is None:
            continue
        redriven = _redrive(session, run, settings, now, idle_seconds)
        if redriven is not None:
            found.append(Redrive(run.id, names.get(run.model_id, ""), redriven, idle_seconds,
                                 forced=run.trigger != "schedule"))
    return found


def open_runs_before(created: dt.datetime) -> Select:
    """The runs still in flight that were made before ``created``: an index scan of
    ``ix_check_runs_open`` (the open runs only), not a scan of every run the table has kept. The
    status filter is the index's own predicate, in literal SQL: neither SQLite nor a generic
    PostgreSQL plan can prove that ``status IN (?, ?)`` with bound values implies it."""
    return select(CheckRun.id, CheckRun.status, CheckRun.created_at, CheckRun.stages).where(
        text(OPEN_RUN), CheckRun.created_at < created)


def _redrive(session: Session, run: CheckRun, settings: Settings, now: dt.datetime, idle: float) -> str | None:
    """Mark ``run`` re-driven from the stage it resumes at (returned; the mark goes on that stage's
    entry, a succeeded hand-off stage's included), or fail it past the limit at its first unfinished
    stage (None)."""
    stage = resume_at(run.stages)
    count = int(((run.stages or {}).get(stage) or {}).get("redrives", 0))
    if sum(int(e.get("redrives", 0)) for e in (run.stages or {}).values()) >= settings.redrive_limit:
        store_runs.fail_run(session, run, first_unfinished(run.stages),
                            f"no progress after {settings.redrive_limit} re-drives (last {idle:.0f}s idle)")
        return None
    stages = dict(run.stages or {})
    stages[stage] = {**(stages.get(stage) or {}), "redrives": count + 1, "redriven_at": now.isoformat()}
    run.stages = stages
    audit.record(session, actor=audit.SYSTEM, action=ACTION, subject=f"run:{run.id}", model_id=run.model_id,
                 reason=f"no progress for {idle:.0f}s; publishing {stage} again",
                 details={"run_id": run.id, "stage": stage, "idle_seconds": round(idle, 1)})
    return stage


def counts(session: Session) -> Counter[tuple[int | None, str]]:
    """Re-drives so far, by (model id, stage), from the audit trail (rows are never updated)."""
    rows = session.execute(select(AuditEvent.model_id, AuditEvent.details).where(AuditEvent.action == ACTION))
    return Counter((model_id, str((details or {}).get("stage", ""))) for model_id, details in rows)


def run_redrives(run: CheckRun | None) -> int:
    """How many times ``run`` was re-driven (0 for None)."""
    if run is None:
        return 0
    return sum(int((entry or {}).get("redrives", 0)) for entry in (run.stages or {}).values())
