"""Recovery: policies turn a newly firing alert into a persisted, delayed action that runs once.

Actions share one interface (``run(context) -> Outcome``), one module each: ``rollback``,
``retrain``, ``recalibrate``, ``notify``. ``ACTIONS`` maps the spec's action name to its function.
``schedule`` persists and claims actions, ``approval`` lets a person approve them, and
``verification`` checks afterwards whether the model recovered.
"""

from monitor.recovery.actions import ACTIONS, ActionContext, Outcome

__all__ = ["ACTIONS", "ActionContext", "Outcome"]
