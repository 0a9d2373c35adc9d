"""The built-in model registry: versions in the database, one of them serving.

It is what the rollback and retrain actions act on when no external registry is configured
(``registry: {kind: builtin}``, the default); :class:`BuiltinRegistry` is its adapter.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from monitor.db.schema import Model, ModelVersion
from monitor.reference import build_drift_reference, build_profile
from monitor.registry.adapters import Move, RegistryAdapter, RegistryVersion, adapter
from monitor.spec import ModelSpec
from monitor.store import models as store


def register(session: Session, model: Model, spec: ModelSpec, version: str, *,
             reference: pd.DataFrame | None = None, artifact: bytes | None = None,
             serving: bool = True, source: str = "builtin", details: dict | None = None) -> ModelVersion:
    """Record ``version`` (once), compute its reference profile, and optionally serve it.

    Without reference data the version inherits the newest existing profile, noted in its
    details: its baseline is then the previous version's, which is what a new version is judged
    against anyway.
    """
    row, created = store.add_version(session, model.id, version, source=source, artifact=artifact,
                                     details=details)
    if reference is not None:
        profile, baseline = build_profile(reference, spec)
        store.save_reference(session, row, profile, baseline.to_json()["kpis"], rows=len(reference),
                             drift_reference=build_drift_reference(reference, spec))
        row.details = {**(row.details or {}), "baseline": baseline.to_json()}
    elif created:
        inherited = store.reference_for(session, model.id, None)
        if inherited is not None and inherited.model_version_id != row.id:
            store.save_reference(session, row, inherited.profile, inherited.baseline_kpis, inherited.rows,
                                 drift_reference=inherited.drift_reference)
            row.details = {**(row.details or {}), "reference": "inherited from an earlier version"}
    if serving and not row.serving:
        store.set_serving(session, model.id, version)
    session.flush()
    return row


def rollback(session: Session, model_id: int) -> tuple[str, str] | None:
    """Serve the previous version again; the current one is marked ``rolled_back``.

    Returns ``(from_version, to_version)``, or None when there is nothing to roll back to.
    """
    current = store.serving_version(session, model_id)
    previous = store.previous_serving(session, model_id)
    if current is None or previous is None:
        return None
    store.set_serving(session, model_id, previous.version, previous_status="rolled_back")
    return current.version, previous.version


@adapter
class BuiltinRegistry(RegistryAdapter):
    """The built-in registry behind the adapter interface: the versions table is the registry."""

    kind = "builtin"

    def serving_version(self) -> str | None:
        row = store.serving_version(self.session, self.model.id)
        return row.version if row else None

    def list_versions(self) -> list[RegistryVersion]:
        return [RegistryVersion(v.version, bool(v.serving), v.source, v.created_at,
                                {"status": v.status, "promoted_at": v.promoted_at.isoformat() if v.promoted_at else None})
                for v in store.list_versions(self.session, self.model.id)]

    def promote(self, version: str) -> Move:
        before = self.serving_version()
        store.set_serving(self.session, self.model.id, version)
        return Move(before, version)

    def rollback(self) -> Move | None:
        moved = rollback(self.session, self.model.id)
        return Move(*moved) if moved else None

    def register_candidate(self, version: str | None, *, reference: pd.DataFrame | None = None,
                           artifact: bytes | None = None, source: str | None = None,
                           details: dict | None = None) -> str:
        version = version or next_version(self.session, self.model.id)
        details = {**(details or {}), **({"source_uri": source} if source else {})}
        register(self.session, self.model, self.spec, version, reference=reference, artifact=artifact,
                 serving=False, details=details)
        return version


def next_version(session: Session, model_id: int) -> str:
    """A free numeric version id: one above the highest numeric one (``"3"`` after ``"1", "2"``)."""
    numbers = [int(v.version) for v in store.list_versions(session, model_id) if v.version.isdigit()]
    return str(max(numbers, default=0) + 1)
