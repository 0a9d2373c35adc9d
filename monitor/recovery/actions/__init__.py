"""Recovery actions: one module each (``rollback``, ``retrain``, ``recalibrate``, ``notify``),
one interface (``run(context) -> Outcome``), found by name through ``monitor.plugins.ACTIONS``.

A new action is one new module here that registers its class with ``@action("name")``
(docs/extending.md, "A recovery action").
"""

from monitor.plugins import ACTIONS
from monitor.recovery.actions.base import Action, ActionContext, Outcome

__all__ = ["ACTIONS", "Action", "ActionContext", "Outcome"]
