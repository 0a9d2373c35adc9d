"""The ``rules`` block: thresholds of the detect stage.

The thresholds stay one declared model (rather than being assembled from the rule plugins) so
that the whole block is documented, defaulted and validated in one place (``docs/model-spec.md``)
and several rules can share a field (``min_labelled_rows`` gates both the realised and the
estimated performance rules). Which rule *names* exist is asked of the rule plugins
(:data:`monitor.plugins.RULES`), loaded by name, so the spec imports no rule code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from monitor.plugins import RULES
from monitor.spec.base import _Strict


def rule_names() -> list[str]:
    """Every rule name a finding can carry (what ``alerting.rules`` and ``recovery`` may name)."""
    return sorted({name for _, rule in RULES for name in rule.rule_names()})


def finding_kinds() -> list[str]:
    """Every kind of finding the rules produce."""
    return sorted({kind for _, rule in RULES for kind in rule.kinds})


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
    joint: "JointDriftRules" = Field(default_factory=lambda: JointDriftRules(),
                                     description="When the joint-drift classifier (multivariate_auc) runs.")

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
        """Keyword options for ``monitor.drift.detect_drift`` (``joint`` is not one of them)."""
        return {"p_value": self.p_value, "min_samples": self.min_samples, "numeric_test": self.numeric_test,
                "categorical_test": self.categorical_test, "numeric_effect": self.numeric_effect,
                "categorical_effect": self.categorical_effect, "wasserstein": self.wasserstein,
                "jensen_shannon": self.jensen_shannon, "psi": self.psi, "per_feature": self.features}


class JointDriftRules(_Strict):
    """The cadence of the joint-drift domain classifier (rule ``multivariate_drift``).

    ``always``: every check. ``on_feature_drift``: only a check where a single-feature test
    (``data_drift``) fires. ``every_n_checks`` (default): every ``every``-th check of the model
    *and* any check where a single-feature test fires. The classifier costs the same on every
    check whatever the window size (a fixed sample), which dominates a small model's check; drift
    that only the joint test sees (a flipped correlation) is found within ``every`` checks.
    A check that skips it leaves the joint-drift alert as it was.
    """

    run: Literal["always", "on_feature_drift", "every_n_checks"] = "every_n_checks"
    every: int = Field(6, ge=1, description="With every_n_checks: run on each N-th check of the model.")


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
