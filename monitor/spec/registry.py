"""The ``registry`` block: which model registry rollback and retrain act on."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from monitor.spec.base import _Strict


class RegistrySpec(_Strict):
    """Which model registry rollback and retrain act on (``monitor.registry.adapter_for``).

    ``{kind: builtin}`` (the default) is modelwatch's own table of versions; ``{kind: mlflow,
    tracking_uri: http://mlflow:5000, name: churn-model, alias: champion}`` moves an MLflow
    alias instead (``name`` defaults to the model's name). See ``docs/registry.md``.
    """

    kind: Literal["builtin", "mlflow"] = "builtin"
    tracking_uri: str | None = Field(None, description="mlflow: the tracking server's URL.")
    name: str | None = Field(None, description="mlflow: the registered model's name (default: the model's).")
    alias: str = Field("champion", min_length=1, description="mlflow: the alias that marks the serving version.")

    @model_validator(mode="after")
    def _mlflow_needs_uri(self) -> "RegistrySpec":
        if self.kind == "mlflow" and not self.tracking_uri:
            raise ValueError("registry kind 'mlflow' needs tracking_uri, e.g. http://mlflow:5000")
        return self
