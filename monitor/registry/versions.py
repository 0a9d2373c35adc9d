"""Recording a new model version from Python: what ``monitor.registry.on_model_update`` does.

The reference profile's stack (pandas, ``monitor.registry.builtin``) is imported when a version is
recorded: ``tasks.publish`` imports this module, and ``modelwatch check`` imports that to publish
a run (tests/unit/test_import_cost.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.config import Settings, get_settings
from monitor.db.engine import session_scope
from monitor.store import models as store

if TYPE_CHECKING:
    import pandas as pd


def on_model_update(name: str, version: str, *, reference: pd.DataFrame | str | None = None,
                    artifact: bytes | None = None, serving: bool = True, source: str = "builtin",
                    details: dict[str, Any] | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Record a new model version; returns ``{model, version, serving, check_delay}``.

    ``reference`` is a DataFrame (or a Parquet/CSV path) of the version's predictions on held-out
    labelled data; without it the version inherits the previous reference profile.
    ``check_delay`` is the spec's ``registry_check_delay``: how long the caller that checks the
    new version (``tasks.publish.register_version``) waits, so the check sees its traffic.
    """
    from monitor.reference import read_table
    from monitor.registry import builtin

    settings = settings or get_settings()
    if isinstance(reference, str):
        reference = read_table(reference)
    with session_scope(settings.effective_database_url) as session:
        model = store.get_model(session, name)
        spec = store.spec_of(model)
        row = builtin.register(session, model, spec, str(version), reference=reference,
                               artifact=artifact, serving=serving, source=source, details=details)
        return {"model": name, "version": row.version, "serving": row.serving,
                "check_delay": spec.registry_check_delay}
