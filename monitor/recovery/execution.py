"""Running one claimed recovery action: the stale-reason guard, the action, its record.

``tasks.recovery.execute`` claims the action (``schedule.claim``, committed before anything
runs, so a second delivery of the same message finds it taken) and then calls :func:`execute`.
The action runs in one session with its recorded outcome, its audit event and the scheduling of
its verification: all of it commits, or none of it does. An exception from the action is its
result (recorded as the failure, not retried): re-running a half-done rollback or retrain
automatically is worse than a person looking at it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from monitor import audit
from monitor.db.engine import session_scope
from monitor.db.schema import CheckRun, RecoveryAction
from monitor.plugins import ACTIONS
from monitor.recovery import schedule, verification
from monitor.recovery.actions.base import ActionContext
from monitor.store import models as store_models


@dataclass(frozen=True)
class Execution:
    """What became of a claimed action. ``verify_at``: when its follow-up check is due (to publish)."""

    action_id: int
    state: str  # succeeded | failed
    summary: str | None = None
    stale: str | None = None
    error: str | None = None
    verify_at: dt.datetime | None = None

    @property
    def ran(self) -> bool:
        """The action itself ran to an outcome (it was neither stale nor raised)."""
        return self.stale is None and self.error is None

    def to_json(self) -> dict[str, Any]:
        extra = {"stale": self.stale} if self.stale else {"error": self.error} if self.error else {"summary": self.summary}
        return {"action_id": self.action_id, "state": self.state, **extra}


def execute(database_url: str, action_id: int) -> Execution:
    """Run the claimed (``running``) action ``action_id`` unless a newer version made it stale."""
    with session_scope(database_url) as session:
        action = session.get(RecoveryAction, action_id)
        run = session.get(CheckRun, action.run_id)
        stale = schedule.stale_reason(session, action.model_id, run.version if run else None)
        if stale:
            schedule.finish(session, action_id, False, {"summary": f"not run: {stale}"}, f"stale: {stale}")
            return Execution(action_id, "failed", stale=stale)
        model = store_models.get_model_by_id(session, action.model_id)
        context = ActionContext(session, model, store_models.spec_of(model), action)
        try:
            outcome = ACTIONS.get(action.kind)().run(context)
        except Exception as exc:  # the action's own failure is its result, recorded, not retried
            session.rollback()
            with session_scope(database_url) as failed:
                schedule.finish(failed, action_id, False, {}, f"{type(exc).__name__}: {exc}")
            return Execution(action_id, "failed", error=str(exc))
        schedule.finish(session, action_id, outcome.ok, outcome.to_json(), None if outcome.ok else outcome.summary)
        verify_at = None
        if outcome.ok:
            audit.record(session, actor=audit.SYSTEM, action=action.kind, subject=f"recovery:{action_id}",
                         reason=action.reason, model_id=action.model_id, details=outcome.to_json())
            verify_at = verification.schedule_follow_up(session, action, context.spec)
    return Execution(action_id, "succeeded" if outcome.ok else "failed", summary=outcome.summary,
                     verify_at=verify_at)
