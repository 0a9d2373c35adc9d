"""The ``registry`` block: which model registry rollback and retrain act on.

Registry kinds come from the adapter plugins (``monitor.plugins.ADAPTERS``, loaded by name: this
module imports nothing from ``monitor.registry``); each adapter checks the fields it needs
(``check_spec``: mlflow needs ``tracking_uri``).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from monitor.plugins import ADAPTERS
from monitor.spec.base import _Strict


class RegistrySpec(_Strict):
    """Which model registry rollback and retrain act on (``monitor.registry.adapter_for``).

    ``{kind: builtin}`` (the default) is modelwatch's own table of versions; ``{kind: mlflow,
    tracking_uri: http://mlflow:5000, name: churn-model, alias: champion}`` moves an MLflow
    alias instead (``name`` defaults to the model's name). See ``docs/registry.md``.
    """

    kind: str = Field("builtin", description="A registry adapter's name: builtin, mlflow, ...")
    tracking_uri: str | None = Field(None, description="mlflow: the tracking server's URL.")
    name: str | None = Field(None, description="mlflow: the registered model's name (default: the model's).")
    alias: str = Field("champion", min_length=1, description="mlflow: the alias that marks the serving version.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in ADAPTERS:
            raise ValueError(f"unknown registry kind {value!r}; expected one of {ADAPTERS.names()}")
        return value

    @model_validator(mode="after")
    def _adapter_accepts_spec(self) -> "RegistrySpec":
        ADAPTERS.get(self.kind).check_spec(self)  # e.g. mlflow needs tracking_uri
        return self
