"""The sweeper's policy: what a broker lost, and how late is lost.

Messages can be lost between a commit and a publish (a broker restart, a crash in between).
Every piece of work the queue carries is also a row, so one pass over the rows finds what is
overdue by more than a grace period and must be sent again; the claims on those rows make a
re-sent message that races a late original run once. ``tasks.recovery.sweep`` runs :func:`find`
every ``MODELWATCH_SWEEP_INTERVAL`` and publishes what it returns. Check runs whose chain was lost
are re-driven from where they resume (``monitor.check.redrive``, ``monitor.check.progress``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerts import delivery
from monitor.check import redrive
from monitor.config import Settings
from monitor.db.schema import utcnow
from monitor.recovery import approval, schedule, verification
from monitor.store import models as store_models, recovery as store_recovery


def grace(settings: Settings) -> dt.timedelta:
    """How late a scheduled message may be before the sweeper takes it for lost.

    >>> from monitor.config import Settings
    >>> grace(Settings(sweep_interval=60)).total_seconds()
    120.0
    """
    if settings.recovery_grace is not None:
        return dt.timedelta(seconds=settings.recovery_grace)
    return dt.timedelta(seconds=max(30.0, 2 * settings.sweep_interval))


@dataclass(frozen=True)
class Sweep:
    """What one sweep found: work to publish again, and what it marked on the way."""

    redrive_runs: tuple[redrive.Redrive, ...]
    resend_actions: tuple[int, ...]
    resend_verifications: tuple[int, ...]
    resend_notifications: tuple[int, ...]
    expired_actions: tuple[int, ...]
    lost_actions: int

    def to_json(self) -> dict[str, Any]:
        return {"redriven_runs": [r.to_json() for r in self.redrive_runs],
                "resent_actions": list(self.resend_actions), "resent_verifications": list(self.resend_verifications),
                "expired_actions": list(self.expired_actions), "resent_notifications": list(self.resend_notifications),
                "lost_actions": self.lost_actions}


def find(session: Session, settings: Settings, queued: redrive.QueuedLookup | None = None) -> Sweep:
    """One pass: expire unapproved actions, close failed verifications, mark lost actions, and
    return what must be published again (the caller publishes after this session commits).
    ``queued`` asks the broker which never-started runs still wait in it (``monitor.check.redrive``)."""
    late = grace(settings)
    expired = approval.expire_unapproved(session)
    unverified = verification.overdue(session, late)
    verification.close_failed(session)
    lost_runs = redrive.find(session, settings, {m.id: m.name for m in store_models.list_models(session)},
                             queued=queued)
    overdue = [a.id for a in schedule.overdue(session, late)]
    stale = delivery.stale(session, late)
    delivery.give_up(session)
    lost = store_recovery.fail_lost(session, utcnow() - dt.timedelta(seconds=settings.task_time_limit + 60))
    return Sweep(redrive_runs=tuple(lost_runs),
                 resend_actions=tuple(overdue), resend_verifications=tuple(unverified),
                 resend_notifications=tuple(stale), expired_actions=tuple(expired), lost_actions=lost)
