"""The ``recovery`` block: what to do when an alert starts firing."""

from __future__ import annotations

import importlib
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from monitor.durations import parse_duration
from monitor.errors import SpecError
from monitor.spec.base import _Strict


class RecoveryPolicy(_Strict):
    """What to do when an alert of a rule (or of a kind of finding, or of a severity) starts firing.

    Semantics for operators: docs/alerts-and-recovery.md, section "Recovery".
    """

    action: Literal["rollback", "retrain", "recalibrate", "notify"]
    after: float = Field(0.0, description="Delay before the action runs (a duration).")
    callable: str | None = Field(None, description="'package.module:function' for retrain.")
    cooldown: float | None = Field(None, description="No second run of this action for the model "
                                   "within this long after one ran (a duration; default: the model's window).")
    max_version_age: float | None = Field(None, description="rollback only: applies only while the serving "
                                          "version was promoted less than this long ago (a duration).")
    approval: bool = Field(False, description="Wait as pending_approval until a person approves it.")
    approval_timeout: float = Field(86400.0, gt=0, description="An unapproved action expires after this long.")
    verify_after: float | None = Field(None, description="Follow-up check this long after the action ran "
                                       "(a duration; default: the model's window).")
    promote_margin: float = Field(0.01, ge=0, description="retrain only: the candidate serves only if its "
                                  "promote_metric on held-out recent data beats the serving version's by this much.")
    promote_metric: str | None = Field(None, description="retrain only: the KPI compared (default: f1 for "
                                       "classifiers, rmse for regression).")

    @field_validator("approval_timeout", "verify_after", mode="before")
    @classmethod
    def _more_durations(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("after", "cooldown", "max_version_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _retrain_needs_callable(self) -> "RecoveryPolicy":
        if self.action == "retrain":
            if not self.callable or ":" not in self.callable:
                raise ValueError("action 'retrain' needs callable: 'package.module:function'")
        return self

    def load_callable(self):
        """Import the retrain function named by ``callable``."""
        module_name, _, attr = (self.callable or "").partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise SpecError([f"recovery callable {self.callable!r} cannot be imported: {exc}"]) from exc
