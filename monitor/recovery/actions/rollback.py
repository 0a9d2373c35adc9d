"""Rollback: the registry's serving version goes back to the one that served before.

The registry is the one the spec names (``registry.kind``): modelwatch's own table, or an
MLflow alias moved back (``monitor.registry.adapter_for``).
"""

from __future__ import annotations

from monitor.plugins import action
from monitor.recovery.actions.base import Action, ActionContext, Outcome
from monitor.registry import adapter_for


@action("rollback")
class Rollback(Action):
    """Serve the version that served before the current one, in the registry the spec names."""

    def run(self, context: ActionContext) -> Outcome:
        moved = adapter_for(context.model, context.spec, context.session).rollback()
        if moved is None:
            return Outcome(False, "no earlier serving version to roll back to")
        previous, current = moved
        return Outcome(True, f"rolled back from version {previous} to {current}",
                       {"from_version": previous, "to_version": current})
