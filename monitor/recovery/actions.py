"""The action interface and the registry of actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from monitor.db.schema import Model, RecoveryAction
from monitor.spec import ModelSpec


@dataclass
class ActionContext:
    session: Session
    model: Model
    spec: ModelSpec
    action: RecoveryAction


@dataclass(frozen=True)
class Outcome:
    ok: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary, **self.details}


def _rollback(context: ActionContext) -> Outcome:
    from monitor.recovery.rollback import run
    return run(context)


def _retrain(context: ActionContext) -> Outcome:
    from monitor.recovery.retrain import run
    return run(context)


def _recalibrate(context: ActionContext) -> Outcome:
    from monitor.recovery.recalibrate import run
    return run(context)


def _notify(context: ActionContext) -> Outcome:
    from monitor.recovery.notify import run
    return run(context)


ACTIONS: dict[str, Callable[[ActionContext], Outcome]] = {
    "rollback": _rollback, "retrain": _retrain, "recalibrate": _recalibrate, "notify": _notify}
