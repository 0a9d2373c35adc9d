"""Interaction drop: the window's click-through (or conversion) rate fell, for real.

A rate over a few hundred impressions is noisy, so a relative threshold alone would page on
chance. The rule fires only when both hold:

* the rate is more than ``ctr_drop_pct`` (``conversion_drop_pct``) percent below the reference, and
* a one-sided two-proportion z-test rejects "the rate did not drop" at ``alpha``.

The reference is a rate from the spec (``interactions.reference``; a one-sample score test against
it) or else the pooled counts of earlier, non-overlapping windows from the KPI history (a
two-sample test with the pooled variance, as ``statsmodels.stats.proportion.proportions_ztest``
computes it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from monitor.detect.findings import Finding
from monitor.detect.rule import Rule, WindowContext
from monitor.kpis.interactions import PooledReference
from monitor.plugins import rule
from monitor.spec import InteractionSpec

KIND = "interaction_drop"
#: rule -> (rate KPI, count field of the window counts, InteractionSpec field with the threshold)
INTERACTION_RULES: dict[str, tuple[str, str, str]] = {
    "ctr_drop": ("click_through_rate", "clicks", "ctr_drop_pct"),
    "conversion_drop": ("conversion_rate", "conversions", "conversion_drop_pct"),
}


@dataclass(frozen=True)
class ProportionTest:
    """A one-sided test that ``rate`` is below ``reference_rate``; ``p_value`` = P(Z <= z)."""

    rate: float
    reference_rate: float
    z: float
    p_value: float
    method: str  # "two_sample_pooled" or "one_sample_score"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _test(difference: float, standard_error: float, rate: float, reference: float, method: str) -> ProportionTest:
    if standard_error == 0:  # both sides all-0 or all-1: no evidence of any difference
        return ProportionTest(rate, reference, 0.0, 1.0 if difference >= 0 else 0.0, method)
    from scipy.stats import norm  # when a test runs: validating a spec loads every rule module

    z = difference / standard_error
    return ProportionTest(rate, reference, z, float(norm.cdf(z)), method)


def two_proportion_ztest(successes: int, trials: int, reference_successes: int, reference_trials: int
                         ) -> ProportionTest:
    """Two-sample z-test with the pooled proportion, one-sided ("smaller").

    >>> t = two_proportion_ztest(5, 83, 12, 99)
    >>> round(t.z, 4), round(t.p_value, 4)
    (-1.4078, 0.0796)
    """
    if trials < 1 or reference_trials < 1:
        raise ValueError("both samples need at least one trial")
    p1, p2 = successes / trials, reference_successes / reference_trials
    pooled = (successes + reference_successes) / (trials + reference_trials)
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / trials + 1 / reference_trials))
    return _test(p1 - p2, standard_error, p1, p2, "two_sample_pooled")


def one_proportion_ztest(successes: int, trials: int, reference_rate: float) -> ProportionTest:
    """Score test of a proportion against a known rate (variance under the null), one-sided.

    >>> t = one_proportion_ztest(30, 400, 0.1)
    >>> round(t.z, 4), round(t.p_value, 4)
    (-1.6667, 0.0478)
    """
    if trials < 1:
        raise ValueError("the sample needs at least one trial")
    if not 0 < reference_rate < 1:
        raise ValueError(f"reference rate must be inside (0, 1), got {reference_rate!r}")
    rate = successes / trials
    standard_error = math.sqrt(reference_rate * (1 - reference_rate) / trials)
    return _test(rate - reference_rate, standard_error, rate, reference_rate, "one_sample_score")


def interaction_evaluations(counts: dict[str, Any] | None, reference: PooledReference | None,
                            spec: InteractionSpec) -> list[Finding]:
    """One verdict per enabled interaction rule. ``counts`` is the window's
    :meth:`InteractionCounts.to_json`; None means interactions are not watched for this model."""
    if counts is None:
        return []
    evaluations = []
    impressions = int(counts.get("impressions") or 0)
    for name, (metric, field, threshold_field) in INTERACTION_RULES.items():
        threshold = getattr(spec, threshold_field)
        if threshold is None:
            continue
        common = dict(rule=name, kind=KIND, metric=metric, threshold=threshold)
        successes = int(counts.get(field) or 0)
        fixed = getattr(spec.reference, metric)
        if impressions < spec.min_impressions:
            evaluations.append(Finding(
                status="insufficient_data", value=counts.get(metric), **common,
                message=f"{metric}: {impressions} impressions in the window, the rule needs {spec.min_impressions}"))
            continue
        if fixed is not None:
            test = one_proportion_ztest(successes, impressions, fixed)
            source = {"reference": "spec"}
        elif reference is not None and reference.impressions >= spec.min_impressions:
            test = two_proportion_ztest(successes, impressions, getattr(reference, field), reference.impressions)
            source = {"reference": "pooled", "reference_windows": reference.windows,
                      "reference_impressions": reference.impressions,
                      f"reference_{field}": getattr(reference, field)}
        else:
            pooled = reference.impressions if reference else 0
            evaluations.append(Finding(
                status="insufficient_data", value=counts.get(metric), **common,
                message=f"{metric}: no reference yet (earlier windows hold {pooled} impressions, the rule needs "
                        f"{spec.min_impressions}; or set interactions.reference.{metric})"))
            continue
        evaluations.append(_verdict(test, threshold, spec.alpha, impressions, successes, field, source, common))
    return evaluations


def _verdict(test: ProportionTest, threshold: float, alpha: float, impressions: int, successes: int,
             field: str, source: dict[str, Any], common: dict[str, Any]) -> Finding:
    metric = common["metric"]
    drop = (test.reference_rate - test.rate) / test.reference_rate * 100 if test.reference_rate else 0.0
    significant = test.p_value < alpha
    details = {**test.to_json(), "alpha": alpha, "drop_pct": drop, "impressions": impressions, field: successes,
               **source}
    numbers = (f"{metric} {test.rate:.4f} vs reference {test.reference_rate:.4f} "
               f"({drop:+.1f}% drop, z={test.z:.2f}, p={test.p_value:.2g}, {impressions} impressions)")
    if drop > threshold and significant:
        return Finding(status="firing", value=test.rate, baseline=test.reference_rate, details=details,
                              severity="critical" if drop > 2 * threshold else "warning",
                              message=f"{numbers}: a significant drop beyond {threshold:g}% (alpha {alpha:g})",
                              **common)
    why = (f"within the allowed drop of {threshold:g}%" if drop <= threshold
           else f"a drop, but not significant at alpha {alpha:g}")
    return Finding(status="ok", value=test.rate, baseline=test.reference_rate, details=details,
                          message=f"{numbers}: {why}", **common)


@rule("interaction_drop")
class InteractionDrop(Rule):
    """Click-through and conversion rates against a fixed or pooled reference, with a z-test; runs
    only for a model whose interactions are watched."""

    kinds = (KIND,)
    fields = ("interactions.ctr_drop_pct", "interactions.conversion_drop_pct", "interactions.alpha",
              "interactions.min_impressions", "interactions.reference", "interactions.reference_windows")
    order = 40

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        return tuple(INTERACTION_RULES)

    def evaluate(self, context: WindowContext) -> list[Finding]:
        return interaction_evaluations(context.interactions, context.interaction_reference, context.spec.interactions)
