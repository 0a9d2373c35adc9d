"""Recovery actions as rows: the writes the sweeper makes on actions whose worker was lost."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from monitor.db.schema import RecoveryAction, utcnow

#: The error recorded on an action whose worker died while running it.
LOST_WORKER = "the worker running this action was lost; not re-run automatically"


def fail_lost(session: Session, started_before: dt.datetime) -> int:
    """Mark failed every action still ``running`` that started before ``started_before``.

    Such an action outlived the task time limit, so its worker died with it. It is not re-run:
    it may have half-changed a registry, and a person should look. Returns how many were marked.
    """
    return session.execute(
        update(RecoveryAction)
        .where(RecoveryAction.state == "running", RecoveryAction.started_at < started_before)
        .values(state="failed", finished_at=utcnow(), error=LOST_WORKER)
    ).rowcount
