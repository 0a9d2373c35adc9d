"""Model registries and the registry hook.

``on_model_update(name, version, ...)`` is what a registry calls from Python: it records the
version, computes its reference profile and enqueues a check with trigger ``registry``. The HTTP
hook (``POST /v1/hooks/registry``, ``monitor.registry.hook``) does the same for signed MLflow
webhooks and a plain JSON form. ``adapter_for(model, spec)`` is the registry that rollback and
retrain act on (built-in or MLflow, by ``spec.registry.kind``; ``monitor.registry.adapters``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from monitor.config import Settings, get_settings
from monitor.db.engine import session_scope
from monitor.registry import builtin
from monitor.registry.adapters import Move, RegistryAdapter, RegistryError, RegistryVersion, adapter_for
from monitor.store import models as store


__all__ = ["Move", "RegistryAdapter", "RegistryError", "RegistryVersion", "adapter_for", "on_model_update"]


def on_model_update(name: str, version: str, *, reference: pd.DataFrame | str | None = None,
                    artifact: bytes | None = None, serving: bool = True, source: str = "builtin",
                    details: dict[str, Any] | None = None, enqueue: bool = True,
                    settings: Settings | None = None) -> dict[str, Any]:
    """Record a new model version and enqueue a check of it.

    ``reference`` is a DataFrame (or a Parquet/CSV path) of the version's predictions on held-out
    labelled data; without it the version inherits the previous reference profile. The check
    is enqueued after the spec's ``registry_check_delay`` so that it sees the new version's traffic.
    """
    from monitor.reference import read_table

    settings = settings or get_settings()
    if isinstance(reference, str):
        reference = read_table(reference)
    with session_scope(settings.effective_database_url) as session:
        model = store.get_model(session, name)
        spec = store.spec_of(model)
        row = builtin.register(session, model, spec, str(version), reference=reference,
                               artifact=artifact, serving=serving, source=source, details=details)
        result = {"model": name, "version": row.version, "serving": row.serving}
    if enqueue:
        from monitor.queue import enqueue_check

        result["task_id"] = enqueue_check(name, trigger="registry", version=str(version),
                                          countdown=spec.registry_check_delay)
    return result
