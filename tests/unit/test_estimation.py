"""Confidence-based performance estimation: KPIs from calibrated scores before labels arrive."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn import metrics as skm

import monitor.estimation.cbpe as cbpe
from monitor.estimation import ESTIMATORS, KPIS, Calibrator, Estimate, estimate


def realised(labels: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"accuracy": skm.accuracy_score(labels, predicted),
            "precision": skm.precision_score(labels, predicted, zero_division=0),
            "recall": skm.recall_score(labels, predicted, zero_division=0),
            "f1": skm.f1_score(labels, predicted, zero_division=0),
            "roc_auc": skm.roc_auc_score(labels, scores)}


def true_probability(score: np.ndarray) -> np.ndarray:
    """P(y = 1 | score) of a model that ranks well but is over-confident in the middle."""
    return score**1.5


@pytest.fixture(scope="module")
def calibrator() -> Calibrator:
    rng = np.random.default_rng(123)
    scores = rng.beta(2, 2, 30_000)
    return Calibrator().fit(scores, rng.random(len(scores)) < true_probability(scores))


def test_expected_confusion_matrix_by_hand():
    p = np.array([0.9, 0.6, 0.4, 0.2])  # predicted positive, positive, negative, negative
    tp, fp, fn, tn = 0.9 + 0.6, 0.1 + 0.4, 0.4 + 0.2, 0.6 + 0.8
    result = estimate(p, draws=20)
    assert result.kpis["accuracy"] == pytest.approx((tp + tn) / 4)
    assert result.kpis["precision"] == pytest.approx(tp / (tp + fp))
    assert result.kpis["recall"] == pytest.approx(tp / (tp + fn))
    assert result.kpis["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert result.n == 4


def test_expected_roc_auc_is_the_auc_of_the_expected_roc_curve():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(2000), 2)  # with ties
    p = rng.random(2000)
    ones, zeros = np.ones(2000), np.zeros(2000)
    expected = skm.roc_auc_score(np.r_[ones, zeros], np.r_[scores, scores], sample_weight=np.r_[p, 1 - p])
    assert cbpe._expected_auc(rankdata(scores), p) == pytest.approx(expected, abs=1e-12)
    # The expected curve itself: expected TPR against expected FPR over the thresholds.
    order = np.argsort(-scores, kind="stable")
    cuts = np.r_[np.flatnonzero(np.diff(scores[order])), len(scores) - 1]
    tpr = np.r_[0, np.cumsum(p[order])[cuts]] / p.sum()
    fpr = np.r_[0, np.cumsum(1 - p[order])[cuts]] / (1 - p).sum()
    assert cbpe._expected_auc(rankdata(scores), p) == pytest.approx(np.trapezoid(tpr, fpr), abs=1e-12)


def test_well_calibrated_estimates_hold_the_realised_kpis_in_their_band():
    hits = dict.fromkeys(KPIS, 0)
    for seed in range(50):
        rng = np.random.default_rng(seed)
        scores = rng.beta(2, 2, 2000)
        labels = (rng.random(len(scores)) < scores).astype(int)  # labels drawn from the scores
        result = estimate(scores, seed=seed)
        truth = realised(labels, scores, (scores >= 0.5).astype(int))
        for name in KPIS:
            assert result.lower[name] <= result.kpis[name] <= result.upper[name]
            hits[name] += result.lower[name] <= truth[name] <= result.upper[name]
    assert all(count >= 45 for count in hits.values()), hits


def test_on_reference_data_the_estimate_is_the_realised_kpi(calibrator):
    rng = np.random.default_rng(7)
    scores = rng.beta(2, 2, 20_000)
    labels = (rng.random(len(scores)) < true_probability(scores)).astype(int)
    result = estimate(scores, calibrator=calibrator)
    truth = realised(labels, scores, (scores >= 0.5).astype(int))
    for name in KPIS:
        assert result.kpis[name] == pytest.approx(truth[name], abs=0.015), name


def test_covariate_shift_drop_is_tracked_without_labels(calibrator):
    rng = np.random.default_rng(8)
    reference_scores = rng.beta(2, 2, 20_000)
    reference_labels = (rng.random(len(reference_scores)) < true_probability(reference_scores)).astype(int)
    # The inputs move, so the scores crowd where the model is unsure; P(y | score) is unchanged.
    shifted_scores = rng.beta(8, 6, 5000)
    shifted_labels = (rng.random(len(shifted_scores)) < true_probability(shifted_scores)).astype(int)
    before = realised(reference_labels, reference_scores, (reference_scores >= 0.5).astype(int))
    after = realised(shifted_labels, shifted_scores, (shifted_scores >= 0.5).astype(int))
    result = estimate(shifted_scores, calibrator=calibrator)
    assert before["accuracy"] - after["accuracy"] > 0.05 and before["roc_auc"] - after["roc_auc"] > 0.05
    for name in ("accuracy", "f1", "roc_auc"):
        assert result.kpis[name] == pytest.approx(after[name], abs=0.02), name
        assert result.lower[name] - 0.01 <= after[name] <= result.upper[name] + 0.01, name


def test_predictions_instead_of_a_threshold():
    scores = np.array([0.9, 0.6, 0.4, 0.2])
    by_threshold = estimate(scores, threshold=0.5, draws=20)
    by_predictions = estimate(scores, predictions=["yes", "yes", "no", "no"], positive_label="yes", draws=20)
    assert by_predictions.kpis == by_threshold.kpis
    assert estimate(scores, threshold=0.3, draws=20).kpis["recall"] > by_threshold.kpis["recall"]


def test_raw_scores_are_calibrated_and_thresholded_raw(calibrator):
    raw = np.array([0.2, 0.45, 0.55, 0.9])
    result = estimate(raw, calibrator=calibrator, draws=20)
    assert result.kpis == estimate(calibrator.transform(raw), predictions=raw >= 0.5, draws=20).kpis


def test_rows_without_a_score_are_left_out():
    result = estimate([0.9, None, np.nan, 0.1], draws=20)
    assert result.n == 2 and result.kpis == estimate([0.9, 0.1], draws=20).kpis
    empty = estimate([], draws=20)
    assert empty.n == 0 and empty.kpis["accuracy"] is None


def test_band_is_reproducible_for_a_seed():
    scores = np.random.default_rng(9).random(500)
    assert estimate(scores, seed=1) == estimate(scores, seed=1)
    assert estimate(scores, seed=1).lower != estimate(scores, seed=2).lower


def test_calibrator_is_monotone_clipped_and_round_trips_through_json(calibrator):
    grid = np.linspace(-1, 2, 301)
    probabilities = calibrator.transform(grid)
    assert np.all(np.diff(probabilities) >= 0) and probabilities.min() >= 0 and probabilities.max() <= 1
    assert probabilities[0] == calibrator.transform([0.0])[0]  # below the reference range: its lowest value
    restored = Calibrator.from_json(json.loads(json.dumps(calibrator.to_json())))
    np.testing.assert_array_equal(restored.transform(grid), probabilities)
    isotonic_predictions = calibrator.transform(calibrator.thresholds)
    np.testing.assert_allclose(isotonic_predictions, calibrator.values)


def test_calibrator_needs_both_classes_and_a_fit():
    with pytest.raises(ValueError, match="both classes"):
        Calibrator().fit([0.1, 0.9], [1, 1])
    with pytest.raises(ValueError, match="not fitted"):
        Calibrator().transform([0.5])
    assert Calibrator().fit([0.1, 0.8, 0.9], ["no", "yes", "yes"], positive_label="yes").transform([0.85])[0] == 1.0


def test_estimate_is_a_frozen_json_value():
    result = estimate(np.random.default_rng(10).random(100))
    assert isinstance(result, Estimate) and ESTIMATORS["cbpe"] is estimate
    assert set(result.kpis) == set(result.lower) == set(result.upper) == set(KPIS)
    json.dumps(result.to_json())
    with pytest.raises(AttributeError):
        result.n = 3


def test_docstring_examples():
    outcome = doctest.testmod(cbpe)
    assert outcome.attempted and not outcome.failed


def test_large_window_band_from_the_normal_limit_matches_the_exact_bootstrap():
    """Above NORMAL_FROM rows the band comes from the sums' normal limit; it must be the band the
    row-by-row Bernoulli bootstrap gives (within a tenth of its width), without its memory."""
    from monitor.estimation import cbpe

    rng = np.random.default_rng(3)
    n = cbpe.NORMAL_FROM + 10_000
    p = np.clip(rng.beta(2, 3, n), 0.0, 1.0)
    predicted = p >= 0.45
    ranks = rankdata(p + rng.normal(scale=0.05, size=n))
    exact_rows = cbpe.NORMAL_FROM
    cbpe_normal = cbpe._bootstrap(p, predicted, ranks, 400, np.random.default_rng(0))
    cbpe.NORMAL_FROM, saved = n + 1, exact_rows
    try:
        cbpe_exact = cbpe._bootstrap(p, predicted, ranks, 400, np.random.default_rng(0))
    finally:
        cbpe.NORMAL_FROM = saved
    for kpi in cbpe.KPIS:
        exact, normal = cbpe_exact[kpi], cbpe_normal[kpi]
        low, high = np.percentile(exact, [2.5, 97.5])
        width = high - low
        assert abs(np.mean(normal) - np.mean(exact)) < 0.1 * width, kpi
        assert abs(np.percentile(normal, 2.5) - low) < 0.15 * width, kpi
        assert abs(np.percentile(normal, 97.5) - high) < 0.15 * width, kpi


def test_positive_mask_keys_each_value_as_label_key_does():
    from monitor.estimation.cbpe import _positive_mask

    values = [1, 1.0, "1", True, 0, "yes", None, np.int64(1), False]
    assert _positive_mask(values, 1).tolist() == [True, True, True, True, False, False, False, True, False]
    assert _positive_mask(values, "yes").tolist() == [v == "yes" for v in values]
    assert _positive_mask([], 1).tolist() == []


@pytest.mark.parametrize("seed", range(6))
def test_midranks_are_scipys_rankdata_exactly(seed):
    from monitor.kpis.classification import midranks

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    values = rng.integers(0, max(2, n // int(rng.integers(1, 20))), n).astype(float)  # many ties
    if seed % 2:
        values = rng.random(n).round(int(rng.integers(1, 6)))  # ties by rounding, or (seed 5) almost none
    assert np.array_equal(midranks(values), rankdata(values))
    assert np.array_equal(midranks(np.array([7.0])), rankdata([7.0])) and len(midranks(np.array([]))) == 0


@pytest.mark.parametrize("n", [3, 200, 1999, 2500, 20_000])
def test_bigger_bootstrap_chunks_draw_the_same_labels_and_bands_as_chunks_of_fifty(monkeypatch, calibrator, n):
    """A small window's draws in one chunk (``CELLS``) give exactly what chunks of ``CHUNK`` gave:
    the Generator fills arrays in C order. The bands (one percentile call for all five KPIs when
    every draw is finite) are each KPI's percentiles alone; n = 3 has NaN AUCs, the other path."""
    rng = np.random.default_rng(n)
    scores = rng.beta(2, 2, n)
    predictions = (scores > 0.5) if n > 3 else np.array([True, True, True])  # n = 3: one class, AUC NaN
    now = estimate(scores, calibrator=calibrator, predictions=predictions, positive_label=True, draws=230)
    monkeypatch.setattr(cbpe, "CELLS", 0)  # every chunk CHUNK draws, as before
    before = estimate(scores, calibrator=calibrator, predictions=predictions, positive_label=True, draws=230)
    assert now == before
    p, ranks = calibrator.transform(scores), rankdata(scores)
    sampled = cbpe._bootstrap(p, np.asarray(predictions, dtype=bool), ranks, 230, np.random.default_rng(0))
    for name in KPIS:
        values = sampled[name][np.isfinite(sampled[name])]
        tail = (1 - 0.95) / 2 * 100  # as estimate() spells it (2.5000000000000022)
        band = [float(v) for v in np.percentile(values, [tail, 100 - tail])] if len(values) else [None, None]
        assert [now.lower[name], now.upper[name]] == band
