"""One interface over every model registry that rollback and retrain act on.

A registry adapter is bound to one model and the database session of the decision that uses it
(a recovery action's session): whatever it changes in an external registry it mirrors in
modelwatch's own ``model_versions`` table in that session, so checks, the stale-reason guard and
the dashboard see the same serving version, committed together with the action's record.

    adapter = adapter_for(context.model, context.spec)        # kind chosen by spec.registry.kind
    moved = adapter.rollback()                                 # Move("2", "1") or None
    version = adapter.register_candidate("3", reference=frame) # MLflow assigns its own number
    adapter.promote(version)

An adapter is one module of this package whose class registers itself with
``@adapter("kind")`` (``monitor.plugins.ADAPTERS``); this module does not import them: the
family loads them by name. A new registry is one new module (docs/extending.md).
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy.orm import Session, object_session

from monitor.db.schema import Model, utcnow
from monitor.errors import ModelwatchError
from monitor.plugins import ADAPTERS
from monitor.spec import ModelSpec, RegistrySpec

if TYPE_CHECKING:  # an annotation only: publishing a check imports this module (tasks.publish)
    import pandas as pd


class RegistryError(ModelwatchError):
    """The registry refused or could not be reached; the message names it and what was asked."""


class Move(NamedTuple):
    """A change of serving version: ``(from_version, to_version)``; ``from_version`` may be None."""

    from_version: str | None
    to_version: str


@dataclass(frozen=True)
class RegistryVersion:
    """One version as the registry sees it."""

    version: str
    serving: bool
    source: str = ""
    created_at: dt.datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "serving": self.serving, "source": self.source,
                "created_at": self.created_at.isoformat() if self.created_at else None, **self.details}


class RegistryAdapter(abc.ABC):
    """What rollback and retrain need from a registry, for one model."""

    def __init__(self, session: Session, model: Model, spec: ModelSpec):
        self.session, self.model, self.spec = session, model, spec

    @classmethod
    def check_spec(cls, registry: RegistrySpec) -> None:
        """Raise ValueError naming what the spec's ``registry`` block lacks for this adapter (called by the spec)."""

    @abc.abstractmethod
    def serving_version(self) -> str | None:
        """The version serving traffic now, or None."""

    @abc.abstractmethod
    def list_versions(self) -> list[RegistryVersion]:
        """Every version, oldest first."""

    @abc.abstractmethod
    def promote(self, version: str) -> Move:
        """Make ``version`` the serving one (it must be registered)."""

    @abc.abstractmethod
    def rollback(self) -> Move | None:
        """Serve the version that served before the current one; None if there is none."""

    @abc.abstractmethod
    def register_candidate(self, version: str | None, *, reference: pd.DataFrame | None = None,
                           artifact: bytes | None = None, source: str | None = None,
                           details: dict[str, Any] | None = None) -> str:
        """Record a new version without serving it; returns its id (MLflow numbers its own).

        ``reference`` (the version's predictions on held-out labelled data) becomes its reference
        profile; without it the version inherits the newest one.
        """

    def hold(self) -> None:
        """Take the model row's write lock until the caller's transaction ends.

        Called before an external registry is changed: the registry's webhook echo of that change
        then waits on this lock in the hook handler and finds the change already mirrored, so
        modelwatch recognises its own moves (PostgreSQL row lock; SQLite's database write lock).
        """
        hold_model(self.session, self.model)


def hold_model(session: Session, model: Model) -> None:
    """Write the model row so this transaction holds its lock (see :meth:`RegistryAdapter.hold`)."""
    model.updated_at = utcnow()
    session.flush()


def adapter_for(model: Model, spec: ModelSpec, session: Session | None = None) -> RegistryAdapter:
    """The registry adapter the model's spec names (``registry.kind``), bound to ``session``.

    ``session`` defaults to the session ``model`` is attached to (a recovery action's context
    session); changes mirrored locally commit with it.
    """
    session = session or object_session(model)
    if session is None:
        raise RegistryError(f"model {model.name!r} is not attached to a session; pass session=")
    kind = spec.registry.kind
    if kind not in ADAPTERS:
        raise RegistryError(f"model {model.name!r}: unknown registry kind {kind!r}; expected one of {ADAPTERS.names()}")
    return ADAPTERS.get(kind)(session, model, spec)
