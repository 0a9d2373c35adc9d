"""The ``builtin`` registry adapter: modelwatch's own versions table (``monitor.registry.builtin``)."""

from __future__ import annotations

import pandas as pd

from monitor.plugins import adapter
from monitor.registry import builtin
from monitor.registry.adapters.base import Move, RegistryAdapter, RegistryVersion
from monitor.store import models as store


@adapter("builtin")
class BuiltinRegistry(RegistryAdapter):
    """The built-in registry behind the adapter interface: the versions table is the registry."""

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
        moved = builtin.rollback(self.session, self.model.id)
        return Move(*moved) if moved else None

    def register_candidate(self, version: str | None, *, reference: pd.DataFrame | None = None,
                           artifact: bytes | None = None, source: str | None = None,
                           details: dict | None = None) -> str:
        version = version or builtin.next_version(self.session, self.model.id)
        details = {**(details or {}), **({"source_uri": source} if source else {})}
        builtin.register(self.session, self.model, self.spec, version, reference=reference, artifact=artifact,
                         serving=False, details=details)
        return version
