"""Rollback: the registry's serving version goes back to the one that served before."""

from __future__ import annotations

from monitor.recovery.actions import ActionContext, Outcome
from monitor.registry import builtin


def run(context: ActionContext) -> Outcome:
    moved = builtin.rollback(context.session, context.model.id)
    if moved is None:
        return Outcome(False, "no earlier serving version to roll back to")
    previous, current = moved
    return Outcome(True, f"rolled back from version {previous} to {current}",
                   {"from_version": previous, "to_version": current})
