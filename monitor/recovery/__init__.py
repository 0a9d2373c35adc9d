"""Recovery: policies turn a newly firing alert into a persisted, delayed action that runs once.

Actions share one interface (``run(context) -> Outcome``), one module each: ``rollback``,
``retrain``. ``ACTIONS`` maps the spec's action name to its function.
"""

from monitor.recovery.actions import ACTIONS, ActionContext, Outcome

__all__ = ["ACTIONS", "ActionContext", "Outcome"]
