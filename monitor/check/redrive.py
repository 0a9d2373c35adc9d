"""Re-driving check runs whose chain was lost, from the first stage that has not succeeded.

A run's chain lives in the broker: one message per stage, the next published when the previous
returns. A Redis restarted empty, a message dropped, or a stage whose retries could not even be
published (Celery rejects a task whose ``retry`` fails to publish) leaves the run ``pending`` or
``running`` with nothing queued to move it. The run's row says how far it got, and every stage is
idempotent and claims itself (``monitor.check.stages.run_stage``), so the sweeper publishes the
next stage again once the run has made no progress for :attr:`Settings.redrive_after` seconds; a
copy racing a late original runs once.

"No progress" is measured from the newest of the run's ``created_at``, each stage's
``started_at`` / ``finished_at`` and the last re-drive. A stage still marked ``running`` may be
alive (a long evaluate): it is taken for lost only after ``task_time_limit`` more, since the hard
time limit ends any live attempt before then (once re-driven, it gets the short bound again until
the re-published copy starts). Each re-drive is counted on the stage's entry
(``redrives``, ``redriven_at``) and in the audit trail (action ``redrive``, actor ``system``),
which ``/metrics`` counts as ``modelwatch_runs_redriven_total``. A run re-driven
:attr:`Settings.redrive_limit` times without finishing is failed with that reason, so every run
reaches an end.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.config import Settings
from monitor.db.schema import AuditEvent, CheckRun, utcnow
from monitor.store import runs as store_runs

ACTION = "redrive"
OPEN_STATUSES = ("pending", "running")


@dataclass(frozen=True)
class Redrive:
    """One run to publish again, from ``stage`` on."""

    run_id: str
    model: str
    stage: str
    idle_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "model": self.model, "stage": self.stage,
                "idle_seconds": round(self.idle_seconds, 1)}


def next_stage(stages: dict[str, Any] | None) -> str:
    """The first stage of the chain that has not succeeded (``report`` if all before it did).

    >>> next_stage({})
    'collect'
    >>> next_stage({"collect": {"state": "succeeded"}, "evaluate": {"state": "retrying"}})
    'evaluate'
    """
    done = stages or {}
    for name in store_runs.STAGES:
        if (done.get(name) or {}).get("state") != "succeeded":
            return name
    return store_runs.STAGES[-1]


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
    entry = (run.stages or {}).get(next_stage(run.stages)) or {}
    running = entry.get("state") == "running" and entry.get("started_at", "") > entry.get("redriven_at", "")
    return dt.timedelta(seconds=settings.redrive_after + (settings.task_time_limit if running else 0))


def _lost(run: CheckRun, settings: Settings, now: dt.datetime) -> float | None:
    """Seconds without progress if ``run`` is open and past its limit, else None."""
    if run.status not in OPEN_STATUSES:
        return None
    idle = now - last_progress(run)
    return idle.total_seconds() if idle > idle_limit(run, settings) else None


def find(session: Session, settings: Settings, names: dict[int, str], now: dt.datetime | None = None) -> list[Redrive]:
    """Mark every lost run as re-driven (or fail it past the limit) and return what to publish.

    Each candidate is locked and judged again before it is marked, so two sweeps at once (two
    beats) re-drive a run once on PostgreSQL; on SQLite a second copy is harmless anyway. The
    caller publishes after this session commits: a publish that fails leaves the mark, and the
    next sweep after ``redrive_after`` tries again.
    """
    now = now or utcnow()
    candidates = session.scalars(select(CheckRun.id).where(
        CheckRun.status.in_(OPEN_STATUSES),
        CheckRun.created_at < now - dt.timedelta(seconds=settings.redrive_after))).all()
    found = []
    for run_id in candidates:
        run = store_runs.lock_run(session, run_id)
        idle = _lost(run, settings, now)
        if idle is None:
            continue
        stage = next_stage(run.stages)
        count = int(((run.stages or {}).get(stage) or {}).get("redrives", 0))
        if sum(int(e.get("redrives", 0)) for e in (run.stages or {}).values()) >= settings.redrive_limit:
            store_runs.fail_run(session, run, stage, f"no progress after {settings.redrive_limit} re-drives "
                                f"(last {idle:.0f}s idle)")
            continue
        stages = dict(run.stages or {})
        stages[stage] = {**(stages.get(stage) or {}), "redrives": count + 1, "redriven_at": now.isoformat()}
        run.stages = stages
        audit.record(session, actor=audit.SYSTEM, action=ACTION, subject=f"run:{run.id}", model_id=run.model_id,
                     reason=f"no progress for {idle:.0f}s; publishing {stage} again",
                     details={"run_id": run.id, "stage": stage, "idle_seconds": round(idle, 1)})
        found.append(Redrive(run.id, names.get(run.model_id, ""), stage, idle))
    return found


def counts(session: Session) -> Counter[tuple[int | None, str]]:
    """Re-drives so far, by (model id, stage), from the audit trail (rows are never updated)."""
    rows = session.execute(select(AuditEvent.model_id, AuditEvent.details).where(AuditEvent.action == ACTION))
    return Counter((model_id, str((details or {}).get("stage", ""))) for model_id, details in rows)


def run_redrives(run: CheckRun | None) -> int:
    """How many times ``run`` was re-driven (0 for None)."""
    if run is None:
        return 0
    return sum(int((entry or {}).get("redrives", 0)) for entry in (run.stages or {}).values())
