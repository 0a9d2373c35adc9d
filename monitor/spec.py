"""The model spec: what to watch, how often, against what, and what to do about it.

A spec file holds ``models: [...]``; each entry is validated into a :class:`ModelSpec`. Errors
name the model, the field and what was expected (:class:`monitor.errors.SpecError`). The format
is documented in ``docs/model-spec.md``.
"""

from __future__ import annotations

import importlib
import re
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.alerts.header_auth import HeaderAuth
from monitor.durations import parse_duration
from monitor.errors import SpecError
from monitor.interactions import InteractionSpec

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class Task(str, Enum):
    binary_classification = "binary_classification"
    multiclass_classification = "multiclass_classification"
    regression = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.regression


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Strict):
    """Which column of the logs holds what. Defaults match the ingestion docs."""

    id: str = "request_id"
    timestamp: str = "ts"
    prediction: str = "prediction"
    score: str | None = "score"
    label: str = "label"
    version: str = "version"
    latency_ms: str = "latency_ms"
    status: str = "status"
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list,
                                description="Categorical columns whose values get their own KPIs and drift.")

    @model_validator(mode="after")
    def _features_distinct(self) -> "Columns":
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"columns listed as both numeric and categorical: {sorted(both)}")
        unknown = [s for s in self.segments if s not in self.categorical]
        if unknown:
            raise ValueError(f"segments {unknown} must also be listed under categorical")
        return self

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class Rules(_Strict):
    """Thresholds of the detect stage. Every rule has a default; set one to ``null`` to turn it off.

    A ``*_drop_pct`` rule fires when the window's metric is that many percent (relative) below the
    reference baseline; a ``*_increase_pct`` rule when an error metric rises that much above it.
    """

    accuracy_drop_pct: float | None = Field(10.0, ge=0)
    precision_drop_pct: float | None = Field(10.0, ge=0)
    recall_drop_pct: float | None = Field(10.0, ge=0)
    f1_drop_pct: float | None = Field(10.0, ge=0)
    roc_auc_drop_pct: float | None = Field(5.0, ge=0)
    r2_drop_pct: float | None = Field(10.0, ge=0)
    mae_increase_pct: float | None = Field(20.0, ge=0)
    rmse_increase_pct: float | None = Field(20.0, ge=0)
    min_labelled_rows: int = Field(50, ge=1)
    latency_p95_ms: float | None = Field(None, gt=0, description="SLO: p95 latency must stay below this.")
    error_rate_pct: float | None = Field(None, ge=0, le=100, description="SLO: error share must stay below this.")
    min_throughput_rpm: float | None = Field(None, ge=0, description="SLO: requests per minute must stay above.")
    min_availability_pct: float | None = Field(None, ge=0, le=100,
                                               description="SLO: share of successful health probes must stay above.")
    max_cpu_pct: float | None = Field(None, gt=0, le=100, description="p95 CPU % of the model's agent samples.")
    max_memory_pct: float | None = Field(None, gt=0, le=100, description="p95 memory % of the model's agent samples.")
    resolve_after: int = Field(1, ge=1, description="Clean checks in a row before an alert resolves.")
    drift: "DriftRules" = Field(default_factory=lambda: DriftRules())
    drift_p_value: float | None = Field(None, gt=0, lt=1, description="Shortcut for drift.p_value.")
    prediction_drift: bool = Field(True, description="Test the score/prediction distribution too.")
    variance_p_value: float | None = Field(0.01, gt=0, lt=1)
    variance_min_ratio: float = Field(1.5, gt=1, description="Window/reference variance ratio that matters.")
    multivariate_auc: float | None = Field(0.65, gt=0.5, le=1,
                                           description="Domain-classifier ROC-AUC that counts as joint drift.")
    missing_increase: float | None = Field(0.05, ge=0, le=1, description="Absolute rise in missing share.")
    out_of_range_share: float | None = Field(0.01, ge=0, le=1, description="Share outside the reference range.")
    anomaly: "AnomalyRules | None" = Field(default_factory=lambda: AnomalyRules())
    estimated_performance: bool = Field(True, description="Estimate KPIs from scores while labels are missing.")

    @model_validator(mode="after")
    def _drift_shortcut(self) -> "Rules":
        if self.drift_p_value is not None and self.drift_p_value != self.drift.p_value:
            object.__setattr__(self, "drift", self.drift.model_copy(update={"p_value": self.drift_p_value}))
        return self


class DriftRules(_Strict):
    """Per-feature drift: a BH-adjusted p-value below ``p_value`` AND an effect size at or above its
    threshold, with at least ``min_samples`` values on both sides (see ``monitor.drift``)."""

    enabled: bool = True
    p_value: float = Field(0.01, gt=0, lt=1)
    min_samples: int = Field(100, ge=1)
    numeric_test: Literal["ks"] = "ks"
    categorical_test: Literal["chi2"] = "chi2"
    numeric_effect: Literal["wasserstein", "psi"] = "wasserstein"
    categorical_effect: Literal["jensen_shannon", "psi"] = "jensen_shannon"
    wasserstein: float = Field(0.1, ge=0)
    jensen_shannon: float = Field(0.1, ge=0, le=1)
    psi: float = Field(0.2, ge=0)
    features: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                description="Per-feature overrides of the fields above.")

    @field_validator("features")
    @classmethod
    def _known_overrides(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        allowed = {"p_value", "min_samples", "numeric_test", "categorical_test", "numeric_effect",
                   "categorical_effect", "wasserstein", "jensen_shannon", "psi"}
        for feature, overrides in value.items():
            unknown = sorted(set(overrides) - allowed)
            if unknown:
                raise ValueError(f"feature {feature!r}: unknown override(s) {unknown}; expected some of {sorted(allowed)}")
        return value

    def options(self) -> dict[str, Any]:
        """Keyword options for ``monitor.drift.detect_drift``."""
        return {"p_value": self.p_value, "min_samples": self.min_samples, "numeric_test": self.numeric_test,
                "categorical_test": self.categorical_test, "numeric_effect": self.numeric_effect,
                "categorical_effect": self.categorical_effect, "wasserstein": self.wasserstein,
                "jensen_shannon": self.jensen_shannon, "psi": self.psi, "per_feature": self.features}


class AnomalyRules(_Strict):
    """Anomalies in a model's KPI history (``monitor.anomaly``): a sudden change or a slow slide."""

    method: Literal["ewma", "page_hinkley", "cusum"] = "ewma"
    metrics: list[str] | None = Field(None, description="KPIs to watch; default: all of the model's.")
    min_history: int = Field(8, ge=3, description="Checks of history before the detector may fire.")
    params: dict[str, float | str] = Field(default_factory=dict,
                                          description="The detector's own parameters (see monitor.anomaly).")

    @model_validator(mode="after")
    def _detector_accepts_params(self) -> "AnomalyRules":
        from monitor.anomaly import make_detector

        try:
            make_detector(self.method, **self.params)
        except TypeError as exc:
            raise ValueError(f"anomaly method {self.method!r} does not take these params: {exc}") from None
        return self


Rules.model_rebuild()


class WebhookChannel(_Strict):
    url: str
    secret: str | None = None
    timeout: float = Field(5.0, gt=0)
    auth: HeaderAuth | None = None  # {header: X-Modelwatch-Auth, env: N8N_WEBHOOK_AUTH} (docs/n8n.md)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value


class LogChannel(_Strict):
    level: Literal["info", "warning", "error"] = "warning"


from monitor.alerts.channel_config import AlertmanagerConfig, EmailConfig, SlackConfig  # noqa: E402
from monitor.alerts.policy import SEVERITIES, AlertingPolicy  # noqa: E402

CHANNEL_TYPES: dict[str, type[BaseModel]] = {"log": LogChannel, "webhook": WebhookChannel, "slack": SlackConfig,
                                             "email": EmailConfig, "alertmanager": AlertmanagerConfig}


class ChannelSpec(_Strict):
    """One entry of ``alerts``: ``{webhook: URL}``, ``{webhook: {url: ..., secret: ...}}``, ``{log: {}}``,
    ``{slack: URL}``, ``{email: {to: ..., host: ...}}``, ``{alertmanager: URL}``; plus optionally
    ``severities: [critical]`` to route only those severities to it (default: all)."""

    type: str
    config: dict[str, Any]
    severities: list[Literal["warning", "critical"]] = Field(default_factory=lambda: list(SEVERITIES))

    @model_validator(mode="before")
    @classmethod
    def _single_key(cls, value: Any) -> Any:
        if isinstance(value, dict) and {"type", "config"} <= set(value) <= {"type", "config", "severities"}:
            value = {value["type"]: value["config"], **({"severities": value["severities"]} if "severities" in value else {})}
        severities = None
        if isinstance(value, dict) and "severities" in value:
            value = dict(value)
            severities = value.pop("severities")
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(
                "each alert channel is a mapping with one key, one of "
                f"{sorted(CHANNEL_TYPES)}, e.g. {{webhook: https://example.com/hook}}"
            )
        (kind, config), = value.items()
        if kind not in CHANNEL_TYPES:
            raise ValueError(f"unknown alert channel {kind!r}; expected one of {sorted(CHANNEL_TYPES)}")
        if kind in ("webhook", "slack", "alertmanager") and isinstance(config, str):
            config = {"url": config}
        if kind == "email" and isinstance(config, str):
            config = {"to": [config]}
        config = config or {}
        CHANNEL_TYPES[kind].model_validate(config)
        routed = {} if severities is None else {"severities": severities}
        return {"type": kind, "config": config, **routed}

    def routes(self, severity: str) -> bool:
        """Does this channel take alerts of ``severity``?"""
        return severity in self.severities

    def parsed(self) -> _Strict:
        return CHANNEL_TYPES[self.type].model_validate(self.config)


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


class ServiceSpec(_Strict):
    """How modelwatch watches the model as a running service: ``{health_url, probe_every, probe_timeout}``.

    A worker on the ``probes`` queue GETs ``health_url`` every ``probe_every``; any 2xx answer
    within ``probe_timeout`` counts as up (``monitor.probes``).
    """

    health_url: str
    probe_every: float = Field(30.0, description="How often to probe (a duration, at least 1s).")
    probe_timeout: float = Field(2.0, description="How long a probe may take (a duration, less than probe_every).")

    @field_validator("health_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("probe_every", "probe_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @model_validator(mode="after")
    def _timeout_fits(self) -> "ServiceSpec":
        if self.probe_every < 1:
            raise ValueError("probe_every must be at least 1s")
        if not 0 < self.probe_timeout < self.probe_every:
            raise ValueError(f"probe_timeout must be more than 0 and less than probe_every "
                             f"({self.probe_every:g}s), got {self.probe_timeout:g}s")
        return self


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
                                          description="User interaction KPIs and rules (monitor.interactions).")
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
        from monitor.detect.catalog import finding_kinds, rule_names

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


def _describe(error: dict[str, Any], document: Any) -> str:
    """'model "churn", field rules.recall_drop_pct: expected ...' from a pydantic error."""
    loc = list(error["loc"])
    prefix = ""
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
        index = loc[1]
        name = None
        try:
            name = document["models"][index].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        prefix = f'model "{name}"' if name else f"model #{index + 1}"
        loc = loc[2:]
    field = ".".join(str(part) for part in loc if not str(part).startswith("function-"))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    parts = [p for p in (prefix, f"field {field}" if field else "") if p]
    return f"{', '.join(parts)}: {message}" if parts else message


def parse_spec(document: Any, source: str | None = None) -> list[ModelSpec]:
    """Validate a parsed spec document (a dict with ``models``) into model specs."""
    if isinstance(document, dict) and "models" not in document and "name" in document:
        document = {"models": [document]}
    if not isinstance(document, dict):
        raise SpecError(["expected a mapping with a 'models' list at the top"], source)
    try:
        return SpecFile.model_validate(document).models
    except ValidationError as exc:
        raise SpecError([_describe(e, document) for e in exc.errors()], source) from None


def load_spec_file(path: str | Path) -> list[ModelSpec]:
    """Read and validate a YAML spec file. Relative ``reference`` paths resolve against it."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SpecError([f"file not found: {path}"]) from None
    except yaml.YAMLError as exc:
        raise SpecError([f"not valid YAML: {exc}"], str(path)) from None
    specs = parse_spec(document, str(path))
    resolved = []
    for spec in specs:
        if spec.reference and not Path(spec.reference).is_absolute():
            spec = spec.model_copy(update={"reference": str((path.parent / spec.reference).resolve())})
        resolved.append(spec)
    return resolved
