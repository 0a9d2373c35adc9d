"""The recovery action interface: ``run(context) -> Outcome``.

An action is one class in one module of this package, registered with ``@action("name")``
(``monitor.plugins.ACTIONS``) so that a spec's ``recovery: {rule: {action: name}}`` finds it.
The action runs inside the session of its claim (``monitor.recovery.execution``): whatever it
changes commits together with the action's recorded outcome, or not at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from monitor.db.schema import Model, RecoveryAction
from monitor.spec import ModelSpec, RecoveryPolicy


@dataclass
class ActionContext:
    """What an action acts on: the model row, its spec and the persisted action, in one session."""

    session: Session
    model: Model
    spec: ModelSpec
    action: RecoveryAction


@dataclass(frozen=True)
class Outcome:
    """What an action did: ``ok``, a one-line ``summary`` a person reads, and JSON ``details``."""

    ok: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary, **self.details}


class Action(ABC):
    """One kind of recovery. Subclasses register with ``@action("name")`` and need a docstring."""

    #: The spec's name for the action, set by ``@action("name")``.
    name: str = ""
    #: Whether a follow-up check verifies the model recovered (an action that changes nothing has
    #: nothing to verify).
    verifiable: bool = True

    @classmethod
    def check_policy(cls, policy: RecoveryPolicy) -> None:
        """Raise ValueError naming what a spec's policy for this action lacks (called by the spec)."""

    @abstractmethod
    def run(self, context: ActionContext) -> Outcome:
        """Do the action. Return a failed Outcome for an expected refusal; an exception is recorded
        as the action's failure (not retried)."""
