"""Recovery: policies turn a newly firing alert into a persisted, delayed action that runs once.

Actions share one interface (``run(context) -> Outcome``), one module each under
``monitor.recovery.actions`` (``rollback``, ``retrain``, ``recalibrate``, ``notify``), found by
name through ``monitor.plugins.ACTIONS``. ``schedule`` persists and claims actions, ``approval``
lets a person approve them, ``execution`` runs a claimed one (stale-reason guard, audit,
verification scheduling), ``sweep`` finds lost ones, and ``verification`` checks afterwards
whether the model recovered.
"""

from monitor.recovery.actions import ACTIONS, Action, ActionContext, Outcome

__all__ = ["ACTIONS", "Action", "ActionContext", "Outcome"]
