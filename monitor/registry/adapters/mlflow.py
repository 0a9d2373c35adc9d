"""The MLflow model registry: an alias (``champion`` by default) marks the serving version.

Selected by ``registry: {kind: mlflow, tracking_uri: ..., name: ..., alias: champion}``. A
rollback moves the alias back to the version that served before; a retrain registers a new
MLflow model version and moves the alias to it. Every move is mirrored in modelwatch's own
versions table in the caller's session (source ``mlflow``), so checks follow the alias.

Needs MLflow's client: ``pip install 'modelwatch[mlflow]'`` (``mlflow-skinny``). Talks to the
tracking server over its REST API; nothing is imported from MLflow until an adapter is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pandas as pd

from monitor.outbound import OutboundRefused, check_url
from monitor.redact import HIDDEN, redact_url
from monitor.registry import builtin
from monitor.plugins import adapter
from monitor.registry.adapters.base import Move, RegistryAdapter, RegistryError, RegistryVersion
from monitor.store import models as store

T = TypeVar("T")

#: Tag on MLflow versions that modelwatch itself registered (retrain).
REGISTERED_BY_TAG = "modelwatch.registered_by"


def _client(tracking_uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise RegistryError("registry kind 'mlflow' needs MLflow's client: pip install 'modelwatch[mlflow]'") from None
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


@adapter("mlflow")
class MlflowRegistry(RegistryAdapter):
    """An MLflow registered model whose alias (``champion``) marks the serving version."""

    @classmethod
    def check_spec(cls, registry) -> None:
        if not registry.tracking_uri:
            raise ValueError("registry kind 'mlflow' needs tracking_uri, e.g. http://mlflow:5000")

    def __init__(self, session, model, spec):
        super().__init__(session, model, spec)
        self.uri = spec.registry.tracking_uri
        self.name = spec.registry.name or model.name
        self.alias = spec.registry.alias
        self._mlflow = None

    # -- MLflow calls, every failure named ---------------------------------------------------

    def _call(self, what: str, call: Callable[[Any], T]) -> T:
        from mlflow.exceptions import MlflowException

        if self.uri.startswith(("http://", "https://")):
            try:  # re-checked at every call: the name may resolve elsewhere since apply
                check_url(self.uri, "registry.tracking_uri")
            except OutboundRefused as exc:
                raise RegistryError(f"MLflow registry at {redact_url(self.uri)}: {exc}") from None
        if self._mlflow is None:
            self._mlflow = _client(self.uri)
        try:
            return call(self._mlflow)
        except MlflowException as exc:  # its text may quote the URL, password and all: never show it
            raise RegistryError(f"MLflow registry at {redact_url(self.uri)}, model {self.name!r}: {what} failed: "
                                f"{_hide(str(exc.message), self.uri)}") from exc
        except OSError as exc:  # requests' ConnectionError is an OSError
            raise RegistryError(f"MLflow registry at {redact_url(self.uri)} unreachable ({what}): "
                                f"{_hide(str(exc), self.uri)}") from exc

    def serving_version(self) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return self._call("read alias", lambda c: str(c.get_model_version_by_alias(self.name, self.alias).version))
        except RegistryError as exc:
            if isinstance(exc.__cause__, MlflowException) and _not_found(exc.__cause__):
                return None  # no alias yet (or no such registered model): nothing serves
            raise

    def _versions(self) -> list:
        quoted = self.name.replace("'", "\\'")
        found = self._call("search versions", lambda c: c.search_model_versions(f"name = '{quoted}'"))
        return sorted(found, key=lambda v: int(v.version))

    def list_versions(self) -> list[RegistryVersion]:
        import datetime as dt

        serving = self.serving_version()
        return [RegistryVersion(str(v.version), str(v.version) == serving, v.source or "",
                                dt.datetime.fromtimestamp(v.creation_timestamp / 1000, dt.timezone.utc)
                                if v.creation_timestamp else None,
                                {"run_id": v.run_id, "status": v.status, "tags": dict(v.tags or {})})
                for v in self._versions()]

    # -- moves: lock, mirror locally, then change MLflow ----------------------------------------

    def _mirror(self, version: str) -> None:
        """Make sure modelwatch knows ``version`` (inheriting the newest reference profile)."""
        if store.get_version(self.session, self.model.id, version) is None:
            builtin.register(self.session, self.model, self.spec, version, serving=False, source="mlflow",
                             details={"mlflow": {"name": self.name, "tracking_uri": self.uri}})

    def _move_alias(self, version: str) -> None:
        self._call(f"set alias {self.alias!r} to version {version}",
                   lambda c: c.set_registered_model_alias(self.name, self.alias, version))

    def promote(self, version: str) -> Move:
        self.hold()
        before = self.serving_version()
        self._call(f"read version {version}", lambda c: c.get_model_version(self.name, version))
        self._mirror(version)
        store.set_serving(self.session, self.model.id, version)
        self._move_alias(version)
        return Move(before, version)

    def _previous(self, current: str) -> str | None:
        """The version that served before ``current``: modelwatch's record of the alias's moves,
        else the highest lower MLflow version that was never rolled back."""
        known = {str(v.version) for v in self._versions()}
        previous = store.previous_serving(self.session, self.model.id)
        if previous is not None and previous.version != current and previous.version in known:
            return previous.version
        rolled_back = {v.version for v in store.list_versions(self.session, self.model.id) if v.status == "rolled_back"}
        lower = [int(v) for v in known if int(v) < int(current) and v not in rolled_back]
        return str(max(lower)) if lower else None

    def rollback(self) -> Move | None:
        self.hold()
        current = self.serving_version()
        if current is None:
            return None
        target = self._previous(current)
        if target is None:
            return None
        self._mirror(current)
        self._mirror(target)
        if (row := store.serving_version(self.session, self.model.id)) is None or row.version != current:
            store.set_serving(self.session, self.model.id, current)  # re-sync to MLflow before moving
        store.set_serving(self.session, self.model.id, target, previous_status="rolled_back")
        self._move_alias(target)
        return Move(current, target)

    def register_candidate(self, version: str | None, *, reference: pd.DataFrame | None = None,
                           artifact: bytes | None = None, source: str | None = None,
                           details: dict[str, Any] | None = None) -> str:
        """Create an MLflow model version (MLflow numbers it; ``version`` is only a hint).

        ``source`` is the model's artifact URI (``runs:/<run>/model``, ``s3://...``); without one
        the version points at ``modelwatch://<model>/<hint>`` and the artifact stays in
        modelwatch's database.
        """
        from mlflow.exceptions import MlflowException

        self.hold()
        details = dict(details or {})
        source = source or details.pop("source", None) or f"modelwatch://{self.model.name}/{version or 'candidate'}"
        try:
            self._call("read registered model", lambda c: c.get_registered_model(self.name))
        except RegistryError as exc:
            if not (isinstance(exc.__cause__, MlflowException) and _not_found(exc.__cause__)):
                raise
            self._call("create registered model", lambda c: c.create_registered_model(self.name))
        tags = {REGISTERED_BY_TAG: "modelwatch", "modelwatch.model": self.model.name}
        if version:
            tags["modelwatch.suggested_version"] = str(version)
        created = self._call("create version", lambda c: c.create_model_version(
            self.name, source, run_id=details.get("run_id"), tags=tags,
            description=details.get("description"), await_creation_for=30))
        number = str(created.version)
        builtin.register(self.session, self.model, self.spec, number, reference=reference, artifact=artifact,
                         serving=False, source="mlflow",
                         details={**details, "mlflow": {"name": self.name, "tracking_uri": self.uri, "source": source}})
        return number


def _hide(text: str, uri: str) -> str:
    """``text`` with the tracking URI's password (and any other URL credentials in it) hidden."""
    password = urlsplit(uri).password
    if password:
        text = text.replace(password, HIDDEN)
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:@/]*):[^\s@/]*@", lambda m: f"{m.group(1)}:{HIDDEN}@", text)
