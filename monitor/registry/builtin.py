"""The built-in model registry: versions in the database, one of them serving.

Every version modelwatch knows is recorded here (``register``), whichever registry the spec
names: an external registry's moves are mirrored into this table. It is what the rollback and
retrain actions act on when no external registry is configured (``registry: {kind: builtin}``,
the default), through its adapter ``monitor.registry.adapters.builtin.BuiltinRegistry``.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from monitor.db.schema import Model, ModelVersion
from monitor.reference import build_drift_reference, build_profile
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


def next_version(session: Session, model_id: int) -> str:
    """A free numeric version id: one above the highest numeric one (``"3"`` after ``"1", "2"``)."""
    numbers = [int(v.version) for v in store.list_versions(session, model_id) if v.version.isdigit()]
    return str(max(numbers, default=0) + 1)
