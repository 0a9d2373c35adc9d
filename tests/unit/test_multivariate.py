"""Joint drift: a flipped correlation with unchanged marginals is caught; no shift is not."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import monitor.drift.multivariate as multivariate
from monitor.drift.multivariate import METHODS, MultivariateDrift, domain_classifier_drift, pca_reconstruction_drift

NUMERIC = ["a", "b", "noise"]
CATEGORICAL = ["plan"]


def frame(rng: np.random.Generator, n: int, correlation: float) -> pd.DataFrame:
    """a and b standard normal with the given correlation; noise and plan independent of both."""
    a = rng.normal(size=n)
    b = correlation * a + np.sqrt(1 - correlation**2) * rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "noise": rng.normal(size=n),
                         "plan": rng.choice(["basic", "pro", "team"], n, p=[0.5, 0.3, 0.2])})


@pytest.fixture(scope="module")
def flipped():
    rng = np.random.default_rng(0)
    return frame(rng, 2000, 0.8), frame(rng, 2000, -0.8)


def test_flipped_correlation_is_invisible_per_feature(flipped):
    reference, current = flipped
    for column in NUMERIC:
        assert stats.ks_2samp(reference[column], current[column]).pvalue > 0.01


def test_domain_classifier_catches_a_flipped_correlation(flipped):
    result = domain_classifier_drift(*flipped, NUMERIC, CATEGORICAL)
    assert result.method == "domain_classifier"
    assert result.drifted and result.auc > 0.6 and result.statistic == result.auc
    assert 0 <= result.auc_std < 0.1
    assert {f["feature"] for f in result.top_features[:2]} == {"a", "b"}
    assert "distinguishable" in result.message


@pytest.mark.parametrize("seed", range(3))
def test_domain_classifier_sees_nothing_without_a_shift(seed):
    rng = np.random.default_rng(100 + seed)
    result = domain_classifier_drift(frame(rng, 1500, 0.8), frame(rng, 1500, 0.8), NUMERIC, CATEGORICAL, seed=seed)
    assert result.auc < 0.6 and not result.drifted


def test_domain_classifier_samples_at_most_sample_rows():
    rng = np.random.default_rng(1)
    result = domain_classifier_drift(frame(rng, 3000, 0.5), frame(rng, 800, 0.5), NUMERIC, CATEGORICAL, sample=1000)
    assert (result.n_reference, result.n_current) == (1000, 800)


def test_a_small_window_gets_the_short_classifier_and_a_large_one_the_full():
    assert multivariate._classifier(None, 200, 0).max_iter == multivariate.SMALL_WINDOW_ITERATIONS < 50
    assert multivariate._classifier(None, multivariate.SMALL_WINDOW_ROWS + 1, 0).max_iter == multivariate.ITERATIONS


@pytest.mark.parametrize("seed", range(4))
def test_the_short_classifier_still_catches_a_flipped_correlation_in_200_rows(seed, monkeypatch):
    """A small model's window (200 rows against the profile's sample) with the correlation flipped
    is caught, with an AUC close to the full classifier's; the same window unflipped is not."""
    rng = np.random.default_rng(200 + seed)
    reference = frame(rng, 2000, 0.8)
    flipped, calm = frame(rng, 200, -0.8), frame(rng, 200, 0.8)
    short = domain_classifier_drift(reference, flipped, NUMERIC, CATEGORICAL, sample=1000, threshold_auc=0.65)
    assert short.drifted and short.n_current == 200
    with monkeypatch.context() as patch:
        patch.setattr(multivariate, "SMALL_WINDOW_ROWS", 0)  # the full classifier on the same data
        full = domain_classifier_drift(reference, flipped, NUMERIC, CATEGORICAL, sample=1000, threshold_auc=0.65)
    assert abs(short.auc - full.auc) < 0.05
    assert not domain_classifier_drift(reference, calm, NUMERIC, CATEGORICAL, sample=1000, threshold_auc=0.65).drifted


def test_domain_classifier_handles_missing_values_and_a_new_category():
    rng = np.random.default_rng(2)
    reference, current = frame(rng, 1000, 0.5), frame(rng, 1000, 0.5)
    current.loc[current.index[:400], "plan"] = "enterprise"
    current.loc[current.index[::7], "a"] = np.nan
    reference.loc[reference.index[::5], "plan"] = None
    result = domain_classifier_drift(reference, current, NUMERIC, CATEGORICAL)
    assert result.drifted
    assert result.top_features[0]["feature"] == "plan"


def test_too_few_rows_is_not_a_verdict():
    rng = np.random.default_rng(3)
    result = domain_classifier_drift(frame(rng, 500, 0.5), frame(rng, 10, 0.5), NUMERIC, CATEGORICAL)
    assert not result.drifted and result.auc is None
    assert "needs" in result.message


def test_unknown_feature_is_an_error():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="missing"):
        domain_classifier_drift(frame(rng, 100, 0.5), frame(rng, 100, 0.5), ["a", "height"])


def test_pca_reconstruction_catches_a_flipped_correlation(flipped):
    result = pca_reconstruction_drift(*flipped, NUMERIC, CATEGORICAL)
    assert result.method == "pca_reconstruction"
    assert result.drifted and result.statistic > 1.2
    assert result.current_error > result.reference_error > 0


@pytest.mark.parametrize("seed", range(3))
def test_pca_reconstruction_ratio_is_near_one_without_a_shift(seed):
    rng = np.random.default_rng(200 + seed)
    result = pca_reconstruction_drift(frame(rng, 2000, 0.8), frame(rng, 1000, 0.8), NUMERIC, CATEGORICAL, seed=seed)
    assert not result.drifted
    assert 0.85 < result.statistic < 1.15


def test_results_are_frozen_json_values(flipped):
    for method in METHODS.values():
        result = method(*flipped, NUMERIC, CATEGORICAL, sample=500)
        assert isinstance(result, MultivariateDrift)
        json.dumps(result.to_json())
        with pytest.raises(AttributeError):
            result.drifted = False


def test_docstring_examples():
    outcome = doctest.testmod(multivariate)
    assert outcome.attempted and not outcome.failed
