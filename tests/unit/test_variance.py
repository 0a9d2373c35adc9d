"""Variance change (Brown-Forsythe): checked against scipy, flags a real change of spread only."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import monitor.drift.variance as variance_module
from monitor.drift.variance import VarianceChange, variance_change, variance_changes


def test_statistic_and_p_value_equal_scipy_and_the_textbook_definition():
    rng = np.random.default_rng(0)
    reference, current = rng.lognormal(0, 1, 800), rng.lognormal(0, 1.3, 500)
    result = variance_change(reference, current)
    scipy_stat, scipy_p = stats.levene(reference, current, center="median")
    assert result.statistic == pytest.approx(scipy_stat, abs=1e-12)
    assert result.p_value == pytest.approx(scipy_p, abs=1e-12)
    # Brown-Forsythe is a one-way ANOVA on absolute deviations from each group's median.
    anova = stats.f_oneway(np.abs(reference - np.median(reference)), np.abs(current - np.median(current)))
    assert result.statistic == pytest.approx(anova.statistic, abs=1e-9)
    assert result.test == "brown_forsythe"


@pytest.mark.parametrize("seed", range(40))
def test_brown_forsythe_equals_levene_to_1e12_on_random_samples(seed):
    # tiny and large samples, ties, one side constant, missing values in the window
    rng = np.random.default_rng(seed)
    n1, n2 = (int(rng.choice([2, 3, 10, 200, 2000, 50_000])) for _ in range(2))
    reference, current = rng.lognormal(0, 1, n1), rng.normal(0, float(rng.choice([0.5, 1.0, 3.0])), n2)
    if seed % 4 == 1:
        reference, current = np.round(reference), np.round(current * 2)
    elif seed % 4 == 2:
        reference = np.full(n1, 2.0)
    elif seed % 4 == 3:
        current[rng.random(n2) < 0.2] = np.nan
    result = variance_change(reference, current)
    finite = current[np.isfinite(current)]
    if finite.size < 2 or (np.ptp(reference) == 0 and np.ptp(finite) == 0):
        return
    scipy_stat, scipy_p = stats.levene(reference, finite, center="median")
    assert result.statistic == pytest.approx(float(scipy_stat), rel=1e-12, abs=0)
    assert result.p_value == pytest.approx(float(scipy_p), rel=1e-12, abs=0)


@pytest.mark.parametrize("scale, direction", [(2.0, "more"), (0.5, "less")])
def test_doubled_or_halved_spread_is_flagged(scale, direction):
    rng = np.random.default_rng(1)
    result = variance_change(rng.normal(0, 1, 3000), rng.normal(0, scale, 1000))
    assert result.drifted
    assert result.variance_ratio == pytest.approx(scale**2, rel=0.15)
    assert direction in result.message


@pytest.mark.parametrize("seed", range(5))
def test_same_distribution_is_not_flagged(seed):
    rng = np.random.default_rng(seed)
    assert not variance_change(rng.normal(0, 1, 2000), rng.normal(0, 1, 2000)).drifted


def test_significant_but_small_change_is_not_flagged():
    rng = np.random.default_rng(2)
    result = variance_change(rng.normal(0, 1, 50_000), rng.normal(0, 1.1, 50_000))
    assert result.p_value < 0.01
    assert 1 < result.variance_ratio < 1.5
    assert not result.drifted
    assert "within" in result.message


def test_missing_and_non_numeric_values_are_left_out():
    rng = np.random.default_rng(3)
    clean = rng.normal(0, 1, 200)
    dirty = pd.Series([*clean, None, "n/a", np.nan, np.inf], dtype=object)
    current = rng.normal(0, 3, 200)
    assert variance_change(dirty, current).to_json() == variance_change(clean, current).to_json()
    assert variance_change(dirty, current).n_reference == 200


def test_too_few_values_is_not_a_verdict():
    result = variance_change([1.0], [1.0, 2.0, 3.0])
    assert not result.drifted and result.statistic is None
    assert "at least 2" in result.message


def test_constant_samples():
    assert not variance_change([1.0] * 50, [1.0] * 50).drifted
    stuck_reference = variance_change([1.0] * 50, np.random.default_rng(4).normal(0, 1, 50))
    assert stuck_reference.drifted and stuck_reference.variance_ratio == float("inf")
    assert json.loads(json.dumps(stuck_reference.to_json()))["variance_ratio"] is None


def test_score_and_each_numeric_feature_of_a_frame():
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"score": rng.beta(2, 2, 2000), "age": rng.normal(40, 10, 2000)})
    window = pd.DataFrame({"score": rng.beta(0.5, 0.5, 1000), "age": rng.normal(40, 10, 1000)})
    results = variance_changes(reference, window, ["score", "age", "absent"])
    assert set(results) == {"score", "age"}
    assert results["score"].drifted and not results["age"].drifted
    assert all(isinstance(r, VarianceChange) for r in results.values())


def test_result_is_frozen_and_json_able():
    result = variance_change([1.0, 2.0, 3.0], [1.0, 5.0, 9.0])
    with pytest.raises(AttributeError):
        result.drifted = True
    json.dumps(result.to_json())


def test_docstring_examples():
    outcome = doctest.testmod(variance_module)
    assert outcome.attempted and not outcome.failed
