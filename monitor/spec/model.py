"""One model's spec (:class:`ModelSpec`) and the file that holds several (:class:`SpecFile`)."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from monitor.durations import parse_duration
from monitor.spec.alerting import SEVERITIES, AlertingPolicy
from monitor.spec.base import _Strict
from monitor.spec.channels import ChannelSpec
from monitor.spec.columns import Columns
from monitor.spec.interactions import InteractionSpec
from monitor.spec.recovery import RecoveryPolicy
from monitor.spec.registry import RegistrySpec
from monitor.spec.rules import Rules, finding_kinds, rule_names
from monitor.spec.service import ServiceSpec

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class Task(str, Enum):
    binary_classification = "binary_classification"
    multiclass_classification = "multiclass_classification"
    regression = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.regression


class ModelSpec(_Strict):
    name: str
    task: Task
    every: float = Field(300.0, description="How often beat checks the model (a duration).")
    window: float = Field(3600.0, description="How far back a check looks (a duration).")
    columns: Columns = Field(default_factory=Columns)
    positive_label: Any = Field(1, description="The positive class of a binary classifier.")
    reference: str | None = Field(None, description="Parquet or CSV with features, labels and predictions.")
    source: Literal["builtin"] = "builtin"
    registry_check_delay: float = Field(0.0, description="Wait after a new version before checking it.")
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    rules: Rules = Field(default_factory=Rules)
    alerts: list[ChannelSpec] = Field(default_factory=lambda: [ChannelSpec.model_validate({"log": {}})])
    alerting: AlertingPolicy = Field(default_factory=AlertingPolicy)
    recovery: dict[str, list[RecoveryPolicy]] = Field(default_factory=dict)
    interactions: InteractionSpec = Field(default_factory=InteractionSpec,
                                          description="User interaction KPIs and rules (monitor.kpis.interactions).")
    service: ServiceSpec | None = Field(None, description="Health URL probing (availability); off if unset.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "expected 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit"
            )
        return value

    @field_validator("every", "window", "registry_check_delay", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("every", "window")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value < 1:
            raise ValueError("expected at least 1s")
        return value

    @field_validator("recovery", mode="before")
    @classmethod
    def _policy_lists(cls, value: Any) -> Any:
        """``{rule: policy}`` or ``{rule: [policy, fallback, ...]}``: the first that applies runs."""
        if isinstance(value, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _recovery_keys(self) -> "ModelSpec":
        known = set(rule_names()) | set(finding_kinds()) | set(SEVERITIES)
        unknown = sorted(set(self.recovery) - known)
        if unknown:
            raise ValueError(
                f"recovery names unknown rule(s) {unknown}; expected rule names, finding kinds or severities "
                f"from {sorted(known)}"
            )
        return self

    def policies_for(self, rule: str, kind: str, severity: str | None = None) -> list[RecoveryPolicy]:
        """The recovery policies for a rule (in order of preference), else its kind's, else its severity's."""
        return self.recovery.get(rule) or self.recovery.get(kind) or self.recovery.get(severity or "") or []


class SpecFile(_Strict):
    models: list[ModelSpec]

    @model_validator(mode="after")
    def _unique_names(self) -> "SpecFile":
        seen: set[str] = set()
        for model in self.models:
            if model.name in seen:
                raise ValueError(f"model name {model.name!r} appears twice")
            seen.add(model.name)
        return self
