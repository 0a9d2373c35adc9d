"""What a fault drill promises, read back from the database and the counting receiver.

Lost: a window that was due and has no report; a notification recorded as sent that the
receiver never got, or one that never reached ``sent``; a recovery action that never ran.
Duplicates: a second scheduled run of one (model, version, window); a delivery that no row
recorded as sent (a second notification of one transition); a recovery action executed twice, or
a second rollback of one model within its cooldown.

Not a duplicate, but counted (``redelivered_same_key``): one notification POSTed again with the
same ``Idempotency-Key`` because its worker was killed between the POST and recording it as sent.
An HTTP delivery cannot be both at-least-once and exactly-once; the key is what lets a receiver
drop the repeat (docs/alerts-and-recovery.md), and the drill prints how often it happened.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from monitor.db.schema import CheckRun, Model, Notification, RecoveryAction, Report
from tests.conftest import session

UTC = dt.timezone.utc


def due_windows(models: list[str], every: float, since: float, until: float) -> set[tuple[str, dt.datetime]]:
    """(model, window end) of every scheduled window that ended after ``since`` and by ``until``."""
    ends = range(math.floor(since / every) + 1, math.floor(until / every) + 1)
    return {(m, dt.datetime.fromtimestamp(k * every, UTC).replace(tzinfo=None)) for m in models for k in ends}


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)


def _naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def reported_windows(url: str) -> set[tuple[str, dt.datetime]]:
    with session(url) as s:
        rows = s.execute(select(Model.name, CheckRun.window_end).join(Model, Model.id == CheckRun.model_id)
                         .join(Report, Report.run_id == CheckRun.id).where(CheckRun.trigger == "schedule")).all()
    return {(name, _naive(end)) for name, end in rows}


def open_work(url: str, until: float) -> dict[str, int]:
    """Runs of windows that ended by ``until``, notifications and recovery actions not ended yet
    (a recovery action killed while it ran stays ``running``: it is not run again)."""
    last_end = dt.datetime.fromtimestamp(until, UTC)
    with session(url) as s:
        runs = s.scalar(select(func.count()).select_from(CheckRun).where(
            CheckRun.status.in_(("pending", "running")), CheckRun.window_end <= last_end))
        pending = s.scalar(select(func.count()).select_from(Notification).where(Notification.state == "pending"))
        actions = s.scalar(select(func.count()).select_from(RecoveryAction).where(
            RecoveryAction.state == "scheduled"))
    return {k: v for k, v in (("runs", runs), ("notifications", pending), ("actions", actions)) if v}


def _progress(stages: dict | None) -> str:
    return ", ".join(f"{name} {entry.get('state')}" for name, entry in (stages or {}).items()) or "no stage started"


def judge(url: str, due: set[tuple[str, dt.datetime]], received: Counter[str]) -> Verdict:
    verdict = Verdict()
    with session(url) as s:
        runs = s.execute(select(CheckRun.model_id, CheckRun.version, CheckRun.window_end, CheckRun.status,
                                CheckRun.error, CheckRun.trigger, CheckRun.stages, Model.name)
                         .join(Model, Model.id == CheckRun.model_id)).all()
        webhook = s.scalars(select(Notification).where(Notification.channel.like("%webhook%"))).all()
        actions = s.scalars(select(RecoveryAction)).all()
    scheduled = Counter((r.model_id, r.version, r.window_end) for r in runs if r.trigger == "schedule")
    verdict.duplicates += [f"{n} scheduled runs of model {k[0]} version {k[1]} window {k[2]}"
                           for k, n in scheduled.items() if n > 1]
    opened = {(r.name, _naive(r.window_end)): r for r in runs if r.trigger == "schedule"}
    for model, end in sorted(due - reported_windows(url)):
        run = opened.get((model, end))
        verdict.lost.append(f"window {model} ending {end:%H:%M:%S} has no report: "
                            + (f"its run is {run.status} ({_progress(run.stages)}) {run.error or ''}" if run
                               else "no run was opened"))
    verdict.lost += [f"{r.trigger} run of {r.name} window {r.window_end:%H:%M:%S} {r.status}: {r.error}"
                     for r in runs if r.status != "succeeded" and r.trigger != "schedule"]
    sent = {n.dedup_key for n in webhook if n.state == "sent"}
    verdict.lost += [f"notification {n.id} ({n.transition}) ended {n.state}: {n.last_error}"
                     for n in webhook if n.state != "sent"]
    verdict.lost += [f"notification {key} recorded sent, never received" for key in sorted(sent - set(received))]
    redelivered = sum(count - 1 for count in received.values() if count > 1)
    verdict.duplicates += [f"delivery {key!r} received with no row recorded as sent" for key in received
                           if key not in sent]
    verdict.duplicates += [f"recovery action {a.id} ({a.kind}) executed {a.executions} times"
                           for a in actions if a.executions > 1]
    verdict.lost += [f"recovery action {a.id} ({a.kind}) never ran: {a.state}" for a in actions
                     if a.state == "scheduled"]
    rollbacks = Counter(a.model_id for a in actions if a.kind == "rollback" and a.state == "succeeded")
    verdict.duplicates += [f"model {m} rolled back {n} times within its cooldown" for m, n in rollbacks.items() if n > 1]
    verdict.figures = {"windows_due": len(due), "runs": len(runs), "notifications_sent": len(sent),
                       "notifications_received": sum(received.values()),
                       "redelivered_same_key": redelivered,
                       "recovery_actions": len(actions),
                       "recovery_executions": sum(a.executions for a in actions),
                       # killed while it ran: executed once, never again; the sweeper marks it failed
                       # after task_time_limit + 60 s (monitor.recovery.sweep)
                       "recovery_left_running": sum(a.state == "running" for a in actions)}
    return verdict
