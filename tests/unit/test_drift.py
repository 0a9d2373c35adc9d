"""Per-feature drift: every statistic equals scipy's, no shift is (almost) never flagged, a real
shift is flagged where it happened and only there, and the cached reference changes nothing."""

from __future__ import annotations

import dataclasses
import doctest
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

import monitor.drift
from monitor.drift import METHODS, ColumnDrift, DriftReference, benjamini_hochberg, detect_drift
from monitor.drift import arrays, base, chi2, correction, jensen_shannon, ks, psi, reference, wasserstein
from monitor.drift.reference import CategoricalReference, CategoryCounts, NumericReference

NUMERIC = [f"x{i}" for i in range(5)]
CATEGORICAL = ["plan", "region"]
PLAN_SHARES = {"basic": 0.5, "plus": 0.3, "pro": 0.2}
REGIONS = ["north", "south", "east", "west"]


def frame(rng: np.random.Generator, n: int, *, shift: float = 0.0,
          plan_shares: dict | None = None) -> pd.DataFrame:
    """5 numeric columns (x0 shifted by ``shift`` standard deviations) and 2 categorical ones."""
    data = {name: rng.normal(10.0 * (i + 1), 1.0 + i, n) for i, name in enumerate(NUMERIC)}
    data["x0"] = data["x0"] + shift * 1.0
    shares = plan_shares or PLAN_SHARES
    data["plan"] = rng.choice(list(shares), n, p=list(shares.values()))
    data["region"] = rng.choice(REGIONS, n)
    return pd.DataFrame(data)


def by_column(findings: list[ColumnDrift]) -> dict[str, ColumnDrift]:
    return {f.column: f for f in findings}


def scipy_ks(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's "switching to asymp" notice
        return stats.ks_2samp(a, b)


# -- every statistic equals scipy's ---------------------------------------------------------------

KS_SIZES = [(1, 1), (3, 2), (20, 20), (57, 31), (400, 250), (2000, 1000), (10000, 10000), (10000, 7),
            (10001, 500), (30000, 12000)]


@pytest.mark.parametrize("n1, n2", KS_SIZES)
@pytest.mark.parametrize("data", ["continuous", "ties", "shifted"])
def test_ks_equals_scipy_including_the_exact_small_sample_method(n1, n2, data):
    rng = np.random.default_rng([n1, n2, len(data)])
    a, b = rng.normal(0, 1, n1), rng.normal(0.4 if data == "shifted" else 0.0, 1, n2)
    if data == "ties":
        a, b = np.round(a * 2), np.round(b * 2)
    result = METHODS["ks"]().compare(NumericReference.from_values("x", a), b)
    expected = scipy_ks(a, b)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=0)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=0)


def test_ks_exact_and_asymptotic_branches_are_both_exercised():
    # scipy's auto mode is exact up to 10000 values per side: the exact p-value of these sizes differs
    # from the asymptotic one, and ours follows the exact one.
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 1, 60), rng.normal(0.5, 1, 45)
    exact = METHODS["ks"]().compare(NumericReference.from_values("x", a), b).p_value
    asymp = stats.ks_2samp(a, b, method="asymp").pvalue
    assert exact == pytest.approx(stats.ks_2samp(a, b).pvalue, rel=1e-12)
    assert exact != pytest.approx(asymp, rel=1e-3)


def _ks_case(seed: int):
    """Random samples of random sizes, small ones most often: ties, NaN/inf in the window,
    constant columns, shifts (what a check's columns look like, at the sizes a check meets)."""
    rng = np.random.default_rng(seed)
    n1 = int(rng.choice([1, 2, 3, 7, 40, 200, 2000, 9999, 10000, 10001, 30000]))
    n2 = int(rng.choice([1, 2, 5, 31, 200, 1000, 10000, 10001, 25000]))
    a = rng.normal(0, 1, n1)
    b = rng.normal(float(rng.choice([0.0, 0.05, 0.5])), float(rng.choice([1.0, 2.0])), n2)
    shape = seed % 5
    if shape == 1:  # heavy ties on both sides
        a, b = np.round(a * 2), np.round(b * 2)
    elif shape == 2:  # a constant column on one side or both
        a = np.full(n1, 1.0)
        b = np.full(n2, 1.0) if seed % 2 else np.round(b)
    elif shape == 3:  # missing and infinite window values, dropped before the test
        b[rng.random(n2) < 0.1] = np.nan
        b[: min(2, n2)] = np.inf
    return a, b


@pytest.mark.parametrize("seed", range(60))
def test_ks_equals_ks_2samp_to_1e12_on_random_samples_with_ties_nans_and_constants(seed):
    a, b = _ks_case(seed)
    finite = b[np.isfinite(b)]
    if finite.size == 0:
        pytest.skip("no finite window value")
    result = METHODS["ks"]().compare(NumericReference.from_values("x", a), b)
    expected = scipy_ks(a, finite)
    assert result.statistic == pytest.approx(float(expected.statistic), rel=1e-12, abs=0)
    assert result.p_value == pytest.approx(float(expected.pvalue), rel=1e-12, abs=0)


@pytest.mark.parametrize("helper", ["missing", "changed"])
@pytest.mark.parametrize("n1, n2", [(300, 200), (57, 31), (20000, 5000)])
def test_ks_falls_back_to_public_ks_2samp_when_scipys_exact_helper_is_gone(monkeypatch, helper, n1, n2):
    # the exact p-value comes from the private helper ks_2samp itself calls; a scipy upgrade that
    # moves it (import fails) or changes its signature must give the same numbers, through ks_2samp
    def changed(*args):
        raise TypeError("_attempt_exact_2kssamp() takes 4 positional arguments but 5 were given")

    monkeypatch.setattr(ks, "_attempt_exact_2kssamp", None if helper == "missing" else changed)
    rng = np.random.default_rng(n1)
    a, b = rng.normal(0, 1, n1), rng.normal(0.2, 1, n2)
    result = METHODS["ks"]().compare(NumericReference.from_values("x", a), b)
    expected = stats.ks_2samp(a, b)
    assert (result.statistic, result.p_value) == (float(expected.statistic), float(expected.pvalue))


def test_ks_and_wasserstein_share_one_search_of_the_window_in_the_reference(monkeypatch):
    # both are functions of the two ECDFs: the window's ranks in the reference are found once per
    # column (compare.py hands both methods one SortedWindow), not once per method
    calls = []
    real = arrays.sorted_ranks
    monkeypatch.setattr(arrays, "sorted_ranks", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(5)
    ref, cur = pd.DataFrame({"x": rng.normal(0, 1, 30000)}), pd.DataFrame({"x": rng.normal(0.1, 1, 20000)})
    [finding] = detect_drift(ref, cur, numeric=["x"])
    assert len(calls) == 1
    assert finding.statistic == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).statistic, rel=1e-12)
    assert finding.effect_size == pytest.approx(
        stats.wasserstein_distance(ref["x"], cur["x"]) / ref["x"].std(ddof=1), rel=1e-12)


def test_ks_ignores_missing_and_infinite_window_values():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 3000), rng.normal(0.1, 1, 800)
    dirty = np.concatenate([b, [np.nan, np.inf, -np.inf]])
    result = METHODS["ks"]().compare(NumericReference.from_values("x", a), pd.Series(dirty))
    assert result.p_value == pytest.approx(stats.ks_2samp(a, b).pvalue, rel=1e-9)


@pytest.mark.parametrize("n1, n2, ties", [(5, 3, False), (2000, 1000, False), (50000, 20000, False),
                                          (3000, 3000, True)])
def test_wasserstein_equals_scipy_divided_by_the_reference_std(n1, n2, ties):
    rng = np.random.default_rng([n1, n2])
    a, b = rng.lognormal(3, 1, n1), rng.lognormal(3.1, 1, n2)
    if ties:
        a, b = np.round(a), np.round(b)
    result = METHODS["wasserstein"]().compare(NumericReference.from_values("x", a), b)
    assert result.p_value is None
    assert result.statistic == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a, ddof=1), rel=1e-9)


@pytest.mark.parametrize("seed", range(30))
def test_summary_quantiles_of_sorted_values_equal_numpys(seed):
    # describe() reads the quantiles off the sorted window instead of np.quantile's copy and
    # partition: the same numbers, bit for bit, at every size (1 value, 2, ..., a million), with ties
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 3, 4, 19, 20, 21, 101, 9999, 200_000, 1_000_000]))
    values = rng.lognormal(0, 2, n) * float(rng.choice([1e-300, 1.0, 1e300]))
    if seed % 3 == 1:
        values = np.round(values - values.mean())
    values.sort()
    qs = [*reference.SUMMARY_QUANTILES, 0.0, 1.0, *reference.PSI_QUANTILES]
    assert reference.sorted_quantiles(values, qs).tolist() == np.quantile(values, qs).tolist()


def test_wasserstein_of_a_constant_reference_is_zero_or_infinite():
    constant = NumericReference.from_values("x", np.full(200, 3.0))
    assert METHODS["wasserstein"]().compare(constant, np.full(50, 3.0)).statistic == 0.0
    assert METHODS["wasserstein"]().compare(constant, np.full(50, 4.0)).statistic == np.inf


def contingency(ref_labels, cur_labels):
    ref_counts, cur_counts = pd.Series(ref_labels).value_counts(), pd.Series(cur_labels).value_counts()
    return pd.concat([ref_counts, cur_counts], axis=1).fillna(0).to_numpy().T


@pytest.mark.parametrize("categories, window_categories", [
    (["a", "b"], ["a", "b"]),                     # 2 x 2: scipy applies Yates' correction
    (list("abcdef"), list("abcdef")),
    (list("abcd"), list("abcdxy")),               # unseen window categories
    (list("abcd"), list("ab")),                   # reference categories absent from the window
])
def test_chi2_and_jensen_shannon_equal_scipy_on_the_same_table(categories, window_categories):
    rng = np.random.default_rng(len(categories) * 10 + len(window_categories))
    ref_labels = rng.choice(categories, 3000)
    cur_labels = rng.choice(window_categories, 700)
    column = CategoricalReference.from_values("c", ref_labels)
    table = contingency(ref_labels, cur_labels)
    expected = stats.chi2_contingency(table)
    result = METHODS["chi2"]().compare(column, cur_labels)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    js = METHODS["jensen_shannon"]().compare(column, cur_labels)
    assert js.p_value is None
    assert js.statistic == pytest.approx(jensenshannon(table[0], table[1], base=2), rel=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_segment_category_counts_from_one_factorisation_equal_counting_each_segment(seed):
    # same categories, same order (count, then first appearance: value_counts' order), same counts
    # and missing values, for object and Arrow strings, ties, None/NaN, and mixed types (counted
    # segment by segment, since "1" and 1 are one category whose text depends on which came first)
    rng = np.random.default_rng(seed)
    n, k = int(rng.choice([1, 5, 60, 3000])), int(rng.choice([1, 2, 3, 8, 40]))
    names = np.array([f"v{i}" for i in rng.permutation(k)], dtype=object)
    values = names[rng.integers(0, k, n)]
    values[rng.random(n) < 0.15] = None if seed % 2 else np.nan
    if seed % 5 == 4:
        values[: n // 3] = rng.choice([1, 1.0, "1", True, 2.5], n // 3)
    series = pd.Series(values, dtype="str" if seed % 3 == 1 and seed % 5 != 4 else object)
    segment = rng.integers(0, 4, n)
    groups = [None, *(np.flatnonzero(segment == s) for s in range(4))]
    for counted, rows in zip(CategoryCounts.of_groups(series, groups), groups):
        expected = CategoryCounts.of(series if rows is None else series.iloc[rows])
        assert counted.categories == expected.categories
        assert counted.counts.tolist() == expected.counts.tolist()
        assert counted.missing == expected.missing


def test_whole_float_categories_match_their_integer_reference():
    # A missing value turns an integer column into floats; 2.0 must still be the reference's 2.
    column = CategoricalReference.from_values("grade", np.array([1, 2, 3] * 100))
    window = pd.Series([1.0, 2.0, 3.0, np.nan] * 50)
    counted = CategoryCounts.of(window)
    assert counted.categories == ("1", "2", "3") and counted.missing == 50
    assert METHODS["jensen_shannon"]().compare(column, counted).statistic == pytest.approx(0.0, abs=1e-12)


def test_chi2_of_a_single_category_is_no_evidence():
    column = CategoricalReference.from_values("c", ["a"] * 300)
    assert METHODS["chi2"]().compare(column, ["a"] * 100) == base.MethodResult(0.0, 1.0)


def test_chi2_drops_a_category_counted_zero_times_on_both_sides():
    column = CategoricalReference(("a", "b", "c"), np.array([120, 80, 0]), 0, "c")
    result = METHODS["chi2"]().compare(column, ["a"] * 40 + ["b"] * 60)
    assert result.p_value == pytest.approx(stats.chi2_contingency([[120, 80], [40, 60]]).pvalue, rel=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_chi2_equals_chi2_contingency_to_1e12_on_random_tables(seed):
    # 1 to 40 categories (2: Yates' correction, also where a count is within half a unit of its
    # expected count; 1: no evidence), tiny and large counts, categories seen on one side only
    rng = np.random.default_rng(seed)
    k = int(rng.choice([1, 2, 2, 3, 5, 12, 40]))
    scale = float(rng.choice([1, 3, 50, 10_000, 5_000_000]))
    observed = rng.poisson(rng.uniform(0.2, 1.0, (2, k)) * scale).astype(np.int64)
    observed[:, observed.sum(axis=0) == 0] = 1
    if observed.sum(axis=1).min() == 0:
        observed[:, 0] += 1
    if seed % 7 == 3 and k > 2:
        observed[0, -1] = 0  # a window category the reference never saw
    column = CategoricalReference(tuple(f"c{i}" for i in range(k)), observed[0], 0, "c")
    window = CategoryCounts(tuple(f"c{i}" for i in range(k)), observed[1])
    assert np.array_equal(chi2.contingency_table(column, window), observed[:, observed.sum(axis=0) > 0])
    result = METHODS["chi2"]().compare(column, window)
    expected = stats.chi2_contingency(observed[:, observed.sum(axis=0) > 0])
    assert result.statistic == pytest.approx(float(expected.statistic), rel=1e-12, abs=0)
    assert result.p_value == pytest.approx(float(expected.pvalue), rel=1e-12, abs=0)


def textbook_psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    p = np.maximum(expected / expected.sum(), eps)
    q = np.maximum(actual / actual.sum(), eps)
    return float(np.sum((q - p) * np.log(q / p)))


def test_numeric_psi_uses_reference_decile_bins_and_an_epsilon_for_empty_bins():
    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, 5000), rng.normal(0.3, 1.2, 2000)
    edges = np.quantile(a, np.arange(1, 10) / 10)
    expected = np.bincount(np.digitize(a, edges), minlength=10)
    actual = np.bincount(np.digitize(b, edges), minlength=10)
    result = METHODS["psi"]().compare(NumericReference.from_values("x", a), b)
    assert result.p_value is None
    assert result.statistic == pytest.approx(textbook_psi(expected, actual), rel=1e-9)
    empty_bins = METHODS["psi"]().compare(NumericReference.from_values("x", a), np.full(500, 10.0))
    assert empty_bins.statistic == pytest.approx(textbook_psi(expected, np.eye(10)[9] * 500), rel=1e-9)


def test_categorical_psi_counts_unseen_categories():
    ref_labels, cur_labels = ["a"] * 600 + ["b"] * 400, ["a"] * 300 + ["b"] * 150 + ["new"] * 50
    result = METHODS["psi"]().compare(CategoricalReference.from_values("c", ref_labels), cur_labels)
    assert result.statistic == pytest.approx(textbook_psi(np.array([600, 400, 0]), np.array([300, 150, 50])))


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    ps = np.concatenate([rng.uniform(0, 1, 20), rng.uniform(0, 1e-4, 5), [0.5, 0.5, 0.0, 1.0]])
    rng.shuffle(ps)
    np.testing.assert_allclose(benjamini_hochberg(ps), stats.false_discovery_control(ps, method="bh"),
                               rtol=1e-12, atol=0)
    assert benjamini_hochberg([0.3]).tolist() == [0.3] and benjamini_hochberg([]).size == 0


def test_benjamini_hochberg_is_scipys_not_a_copy(monkeypatch):
    calls = []
    monkeypatch.setattr(stats, "false_discovery_control",
                        lambda ps, method: calls.append(method) or np.asarray(ps))
    benjamini_hochberg([0.1, 0.2, 0.3])
    assert calls == ["bh"]


def test_detect_drift_reports_exactly_scipys_numbers():
    rng = np.random.default_rng(5)
    ref, cur = frame(rng, 20000), frame(rng, 12000, shift=0.05)
    findings = by_column(detect_drift(ref, cur, numeric=NUMERIC, categorical=CATEGORICAL))
    for name in NUMERIC:
        assert findings[name].p_value == pytest.approx(scipy_ks(ref[name], cur[name]).pvalue, rel=1e-9)
    for name in CATEGORICAL:
        assert findings[name].p_value == pytest.approx(
            stats.chi2_contingency(contingency(ref[name], cur[name])).pvalue, rel=1e-9)
    raw = [findings[n].p_value for n in NUMERIC + CATEGORICAL]
    adjusted = [findings[n].p_value_adjusted for n in NUMERIC + CATEGORICAL]
    np.testing.assert_allclose(adjusted, stats.false_discovery_control(raw, method="bh"), rtol=1e-12)


# -- behaviour --------------------------------------------------------------------------------------

def test_no_drift_is_almost_never_flagged():
    """200 seeded windows from the reference's own distribution: BH-significance alone fires on about
    1 % of them (the configured rate: here 3 of 200), and the effect-size guard lets through only a
    rare large fluke (here 1 of 200: a 3.6-standard-error dip of one mean)."""
    any_drifted = any_significant = 0
    for seed in range(200):
        rng = np.random.default_rng([2024, seed])
        findings = detect_drift(frame(rng, 2000), frame(rng, 1000), numeric=NUMERIC, categorical=CATEGORICAL,
                                p_value=0.01)
        any_drifted += any(f.drifted for f in findings)
        any_significant += any(f.p_value_adjusted < 0.01 for f in findings)
    assert any_drifted / 200 <= 0.05
    assert any_significant / 200 <= 0.05
    assert any_drifted <= any_significant and any_drifted / 200 <= 0.01


def test_real_shift_is_found_where_it_happened_and_only_there():
    rng = np.random.default_rng(8)
    ref = frame(rng, 2000)
    cur = frame(rng, 1000, shift=0.5, plan_shares={"basic": 0.25, "plus": 0.3, "pro": 0.45})
    findings = by_column(detect_drift(ref, cur, numeric=NUMERIC, categorical=CATEGORICAL))
    assert sorted(name for name, f in findings.items() if f.drifted) == ["plan", "x0"]
    x0, plan = findings["x0"], findings["plan"]
    assert x0.effect_method == "wasserstein" and x0.effect_size == pytest.approx(0.5, abs=0.1)
    assert x0.message.startswith("x0 drifted: KS p=") and "(BH-adjusted)" in x0.message
    assert "window mean" in x0.message and "vs reference" in x0.message
    assert plan.method == "chi2" and plan.effect_method == "jensen_shannon" and plan.effect_size >= 0.1
    assert "'pro'" in plan.message
    assert x0.current_summary["mean"] - x0.reference_summary["mean"] == pytest.approx(0.5, abs=0.1)
    assert set(x0.reference_summary) == {"mean", "std", "q05", "q50", "q95"}
    assert plan.reference_summary["basic"] == pytest.approx(0.5, abs=0.05)
    assert findings["x1"].message.startswith("x1 stable")


def test_unseen_categories_are_listed_with_their_share_of_window_rows():
    rng = np.random.default_rng(9)
    ref, cur = frame(rng, 2000), frame(rng, 1000)
    cur.loc[:49, "region"] = "atlantis"
    cur.loc[50:59, "region"] = "mu"
    cur.loc[60:99, "region"] = None
    finding = by_column(detect_drift(ref, cur, numeric=[], categorical=["region"]))["region"]
    assert sorted(finding.unseen_categories) == ["atlantis", "mu"]
    assert finding.unseen_share == pytest.approx(60 / 1000)
    assert finding.current_missing == 40 and finding.current_count == 960
    assert "2 unseen categories (6.0% of window rows)" in finding.message
    assert by_column(detect_drift(ref, cur, numeric=["x0"]))["x0"].unseen_categories == []


def test_too_few_values_are_skipped_not_judged():
    rng = np.random.default_rng(10)
    ref, cur = frame(rng, 2000), frame(rng, 80, shift=3.0)
    findings = by_column(detect_drift(ref, cur, numeric=NUMERIC, categorical=CATEGORICAL))
    x0 = findings["x0"]
    assert not x0.drifted and x0.skipped and "too few values" in x0.skipped and "100" in x0.skipped
    assert x0.p_value_adjusted is None and x0.effect_size > 1  # still measured, for the record
    assert by_column(detect_drift(ref, cur, numeric=["x0"], min_samples=50))["x0"].drifted
    cur.loc[:40, "x1"] = np.nan  # 80 rows, 39 left: the guard counts non-missing values
    assert by_column(detect_drift(ref, cur, numeric=["x1"], min_samples=50))["x1"].skipped


def test_thresholds_can_be_overridden_per_call_and_per_feature():
    rng = np.random.default_rng(12)
    ref, cur = frame(rng, 2000), frame(rng, 1000, shift=0.5)
    assert by_column(detect_drift(ref, cur, numeric=["x0"]))["x0"].drifted
    assert not by_column(detect_drift(ref, cur, numeric=["x0"], wasserstein=0.8))["x0"].drifted
    assert not by_column(detect_drift(ref, cur, numeric=["x0"], thresholds={"wasserstein": 0.8}))["x0"].drifted
    assert by_column(detect_drift(ref, cur, numeric=["x0"], thresholds={"wasserstein": 0.8},
                                  wasserstein=0.1))["x0"].drifted  # the individual name wins
    findings = by_column(detect_drift(ref, cur, numeric=["x0", "x1"], per_feature={
        "x0": {"wasserstein": 0.8}, "x1": {"numeric_effect": "psi", "p_value": 0.5, "psi": 0.0}}))
    assert not findings["x0"].drifted and findings["x0"].threshold_effect == 0.8
    assert findings["x1"].effect_method == "psi" and findings["x1"].threshold_p_value == 0.5
    assert findings["x1"].threshold_effect == 0.0
    psi_effect = by_column(detect_drift(ref, cur, numeric=["x0"], numeric_effect="psi"))["x0"]
    assert psi_effect.effect_method == "psi" and psi_effect.threshold_effect == 0.2 and psi_effect.drifted


def test_unknown_options_raise_type_error_naming_them():
    ref = frame(np.random.default_rng(13), 300)
    with pytest.raises(TypeError, match="p_vlaue"):
        detect_drift(ref, ref, numeric=["x0"], p_vlaue=0.05)
    with pytest.raises(TypeError, match="wasserstien"):
        detect_drift(ref, ref, numeric=["x0"], per_feature={"x0": {"wasserstien": 0.2}})
    with pytest.raises(TypeError, match="ks_threshold"):
        detect_drift(ref, ref, numeric=["x0"], thresholds={"ks_threshold": 0.2})
    with pytest.raises(ValueError, match="chi2"):
        detect_drift(ref, ref, numeric=["x0"], numeric_test="chi2")
    with pytest.raises(ValueError, match="p_value"):
        detect_drift(ref, ref, numeric=["x0"], p_value=2)


def test_a_missing_column_is_skipped_with_its_reason():
    rng = np.random.default_rng(14)
    ref, cur = frame(rng, 500), frame(rng, 500)
    findings = by_column(detect_drift(ref.drop(columns=["x1"]), cur.drop(columns=["plan"]),
                                      numeric=["x0", "x1"], categorical=["plan"]))
    assert findings["x1"].skipped == "column missing from the reference" and not findings["x1"].drifted
    assert findings["plan"].skipped == "column missing from the window" and not findings["plan"].drifted
    assert findings["x0"].skipped is None and findings["x0"].p_value_adjusted == findings["x0"].p_value
    assert findings["plan"].message == "plan not compared: column missing from the window"


def test_cached_reference_round_trips_through_bytes_with_identical_results():
    rng = np.random.default_rng(15)
    ref, cur = frame(rng, 3000), frame(rng, 1500, shift=0.3)
    ref.loc[:99, "x2"] = np.nan
    for max_sample in (None, 1000):
        cached = DriftReference.from_frame(ref, NUMERIC, CATEGORICAL, max_sample=max_sample, seed=3)
        blob = cached.to_bytes()
        restored = DriftReference.from_bytes(blob)
        assert list(restored.columns) == NUMERIC + CATEGORICAL
        assert restored.numeric == NUMERIC and restored.categorical == CATEGORICAL
        assert restored.max_sample == max_sample and restored.columns["x2"].missing == 100
        before = [f.to_json() for f in detect_drift(cached, cur, numeric=NUMERIC, categorical=CATEGORICAL)]
        after = [f.to_json() for f in detect_drift(restored, cur, numeric=NUMERIC, categorical=CATEGORICAL)]
        assert before == after
    direct = [f.to_json() for f in detect_drift(ref, cur, numeric=NUMERIC, categorical=CATEGORICAL)]
    cached = DriftReference.from_bytes(DriftReference.from_frame(ref, NUMERIC, CATEGORICAL).to_bytes())
    assert direct == [f.to_json() for f in detect_drift(cached, cur, numeric=NUMERIC, categorical=CATEGORICAL)]


def test_subsampled_reference_is_seeded_and_keeps_full_column_statistics():
    values = np.random.default_rng(16).normal(5, 2, 20000)
    a = NumericReference.from_values("x", values, max_sample=1000, seed=1)
    b = NumericReference.from_values("x", values, max_sample=1000, seed=1)
    assert a.values.size == 1000 and np.array_equal(a.values, b.values) and np.all(np.diff(a.values) >= 0)
    assert a.count == 20000 and a.std == pytest.approx(np.std(values, ddof=1))
    assert a.psi_counts.sum() == 20000


def test_reference_blob_needs_no_pickle():
    ref = frame(np.random.default_rng(17), 200)
    blob = DriftReference.from_frame(ref, NUMERIC, CATEGORICAL).to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)


def test_findings_are_json_and_infinite_effects_become_null():
    ref = pd.DataFrame({"flag": np.zeros(300), "plan": ["a"] * 300})
    cur = pd.DataFrame({"flag": np.ones(300), "plan": ["a"] * 300})
    findings = by_column(detect_drift(ref, cur, numeric=["flag"], categorical=["plan"]))
    assert findings["flag"].effect_size == np.inf and findings["flag"].drifted
    payload = json.loads(json.dumps([f.to_json() for f in findings.values()], allow_nan=False))
    assert payload[0]["effect_size"] is None and payload[1]["p_value"] == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        findings["plan"].drifted = True  # type: ignore[misc]


def test_every_method_has_the_uniform_interface_and_is_registered_by_its_spec_name():
    assert set(METHODS) == {"ks", "wasserstein", "psi", "chi2", "jensen_shannon"}
    roles = {name: (cls.kind, cls.role) for name, cls in METHODS.items()}
    assert roles == {"ks": ("numeric", "test"), "wasserstein": ("numeric", "effect"), "psi": ("any", "effect"),
                     "chi2": ("categorical", "test"), "jensen_shannon": ("categorical", "effect")}
    with pytest.raises(ValueError, match="numeric test"):
        base.method("wasserstein", "numeric", "test")


def test_reference_given_as_dataframe_or_cached_reference_only():
    with pytest.raises(TypeError, match="DriftReference"):
        detect_drift({"x0": [1.0]}, pd.DataFrame({"x0": [1.0]}), numeric=["x0"])


@pytest.mark.parametrize("module", [monitor.drift, base, reference, arrays, ks, wasserstein, psi, chi2, jensen_shannon,
                                    correction])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted and not result.failed
