"""Data-quality checks of a window against its reference statistics."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest

import monitor.quality as quality
import monitor.quality_charts as quality_charts
from monitor.quality import (CHECKS, QualityIssue, assess_quality, category_counts, histogram, histograms,
                             reference_stats)

NUMERIC = ["age", "income"]
CATEGORICAL = ["plan"]


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.integers(18, 80, n).astype(float), "income": rng.lognormal(10, 0.5, n),
                         "plan": rng.choice(["basic", "pro", "team"], n)})


@pytest.fixture(scope="module")
def stats() -> dict:
    reference = table(5000, seed=0)
    reference.loc[reference.index[:100], "income"] = np.nan  # 2% missing in the reference
    return reference_stats(reference, NUMERIC, CATEGORICAL)


def issues_by_check(issues: list[QualityIssue]) -> dict[str, list[QualityIssue]]:
    found: dict[str, list[QualityIssue]] = {}
    for issue in issues:
        found.setdefault(issue.check, []).append(issue)
    return found


def test_reference_stats_hold_what_the_checks_need(stats):
    assert stats["income"]["type"] == "numeric" and stats["income"]["count"] == 5000
    assert stats["income"]["missing"] == 100
    assert stats["age"]["min"] == 18 and stats["age"]["max"] <= 79
    assert len(stats["age"]["histogram"]["edges"]) == 21 and sum(stats["age"]["histogram"]["counts"]) == 5000
    assert stats["plan"]["type"] == "categorical" and sorted(stats["plan"]["categories"]) == ["basic", "pro", "team"]
    json.dumps(stats)


def test_a_clean_window_has_no_issues(stats):
    assert assess_quality(stats, table(1000, seed=1), NUMERIC, CATEGORICAL) == []


def test_completeness_compares_missing_rates(stats):
    window = table(1000, seed=2)
    window.loc[window.index[:120], "income"] = np.nan  # 12% against 2%
    window.loc[window.index[:30], "age"] = np.nan  # 3% against 0%: within the allowed rise
    [issue] = issues_by_check(assess_quality(stats, window, NUMERIC, CATEGORICAL))["completeness"]
    assert (issue.column, issue.severity) == ("income", "warning")
    assert issue.value == pytest.approx(0.12) and issue.reference_value == pytest.approx(0.02)
    assert issue.threshold == 0.05
    window["plan"] = None
    [issue] = [i for i in assess_quality(stats, window, NUMERIC, CATEGORICAL) if i.column == "plan"]
    assert issue.check == "completeness" and issue.severity == "critical"


@pytest.mark.parametrize("share, severity", [(0.03, "warning"), (0.2, "critical")])
def test_values_outside_the_reference_range(stats, share, severity):
    window = table(1000, seed=3)
    window.loc[window.index[: int(share * 1000)], "age"] = 150.0
    [issue] = issues_by_check(assess_quality(stats, window, NUMERIC, CATEGORICAL))["out_of_range"]
    assert (issue.column, issue.severity) == ("age", severity)
    assert issue.value == pytest.approx(share)
    assert "outside the reference range [18, 79]" in issue.message


def test_type_errors_and_quarantined_rows(stats):
    window = table(1000, seed=4).astype({"income": object})
    window.loc[window.index[:5], "income"] = "n/a"
    found = issues_by_check(assess_quality(stats, window, NUMERIC, CATEGORICAL, quarantined=7))["type_errors"]
    by_column = {issue.column: issue for issue in found}
    assert by_column["income"].value == 5 and by_column["income"].severity == "warning"
    assert by_column[None].value == 7
    assert "7 row(s)" in by_column[None].message and "quarantined" in by_column[None].message


def test_schema_changes(stats):
    window = table(1000, seed=5).drop(columns=["income"]).assign(income_usd=1.0, label=0, score=0.3)
    issues = assess_quality(stats, window, NUMERIC, CATEGORICAL, ignore=["label", "score"])
    schema = {(i.column, i.severity) for i in issues_by_check(issues)["schema"]}
    assert schema == {("income", "critical"), ("income_usd", "warning")}


def test_constant_column_that_varied_in_the_reference(stats):
    window = table(1000, seed=6).assign(plan="pro")
    [issue] = issues_by_check(assess_quality(stats, window, NUMERIC, CATEGORICAL))["constant_column"]
    assert issue.column == "plan" and "'pro'" in issue.message
    constant_reference = reference_stats(table(100, seed=7).assign(plan="pro"), NUMERIC, CATEGORICAL)
    assert "constant_column" not in issues_by_check(assess_quality(constant_reference, window, NUMERIC, CATEGORICAL))


def test_share_of_new_categories(stats):
    window = table(1000, seed=8)
    window.loc[window.index[:80], "plan"] = "enterprise"
    [issue] = issues_by_check(assess_quality(stats, window, NUMERIC, CATEGORICAL))["new_categories"]
    assert issue.value == pytest.approx(0.08) and issue.severity == "critical"
    assert "'enterprise'" in issue.message


def test_the_reference_profile_is_accepted_too():
    from monitor.reference import build_profile
    from monitor.spec import ModelSpec

    spec = ModelSpec.model_validate({"name": "churn", "task": "binary_classification",
                                     "columns": {"numeric": NUMERIC, "categorical": CATEGORICAL}})
    reference = table(2000, seed=9)
    reference = reference.assign(label=np.arange(2000) % 2, prediction=np.arange(2000) % 3 % 2, score=0.5)
    profile, _ = build_profile(reference, spec)
    window = table(1000, seed=10).assign(plan="enterprise")
    window.loc[window.index[:50], "age"] = 200.0
    checks = {i.check for i in assess_quality(profile["columns"], window, NUMERIC, CATEGORICAL)}
    assert {"out_of_range", "new_categories", "constant_column"} <= checks


def test_histograms_use_the_reference_edges(stats):
    window = table(500, seed=11)
    window.loc[window.index[:3], "age"] = 500.0
    plots = histograms(stats, window)
    assert plots["age"]["edges"] == stats["age"]["histogram"]["edges"]
    assert sum(plots["age"]["counts"]) == 497 and plots["age"]["above"] == 3
    assert plots["plan"]["categories"] == stats["plan"]["categories"] and sum(plots["plan"]["counts"]) == 500
    assert histogram([1.0, 1.0, 1.0], 4)["counts"] == [0, 0, 3, 0]  # a constant gets a unit-wide range
    assert category_counts(["a", "a", "b"]) == {"categories": ["a", "b"], "counts": [2, 1], "other": 0, "missing": 0}
    np.testing.assert_array_equal(histogram(window["income"], 10)["counts"], np.histogram(window["income"], 10)[0])


def test_issues_are_frozen_json_values(stats):
    window = table(100, seed=12).assign(extra=1)
    issues = assess_quality(stats, window, NUMERIC, CATEGORICAL)
    assert issues and all(isinstance(i, QualityIssue) for i in issues)
    json.dumps([i.to_json() for i in issues])
    with pytest.raises(AttributeError):
        issues[0].severity = "critical"
    assert set(CHECKS) == {"schema", "completeness", "type_errors", "out_of_range", "new_categories",
                           "constant_column"}


def test_empty_window_reports_only_schema(stats):
    assert assess_quality(stats, table(0, seed=13), NUMERIC, CATEGORICAL) == []


@pytest.mark.parametrize("module", [quality, quality_charts])
def test_docstring_examples(module):
    outcome = doctest.testmod(module)
    assert outcome.attempted and not outcome.failed


def test_a_small_references_range_allows_what_chance_puts_outside_it():
    # The same data, a 240-value reference: its range [min, max] misses ~2/241 of the distribution
    # on average and up to 6.64/240 = 2.8% (99th percentile), so 2% outside is not a finding there.
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"tenure": rng.gamma(2.0, 4.8, 240), "plan": "basic"})
    stats = reference_stats(reference, ["tenure"], ["plan"])
    lo, hi = stats["tenure"]["min"], stats["tenure"]["max"]
    window = pd.DataFrame({"tenure": np.r_[np.full(20, lo - 0.5), np.linspace(lo, hi, 980)], "plan": "basic"})
    assert not [i for i in assess_quality(stats, window, ["tenure"], ["plan"]) if i.check == "out_of_range"]
    # 5% outside is more than chance allows: reported, with the allowance spelled out.
    window.loc[window.index[:50], "tenure"] = hi + 1
    [issue] = [i for i in assess_quality(stats, window, ["tenure"], ["plan"]) if i.check == "out_of_range"]
    assert issue.value == pytest.approx(0.05) and issue.threshold == pytest.approx(0.01 + 6.64 / 240)
    assert "allowed 1.0% + 2.8% that a range seen in 240 values leaves to chance" in issue.message
    # A large reference leaves almost nothing to chance: the 1% the rule allows is what counts.
    big = reference_stats(pd.DataFrame({"tenure": rng.gamma(2.0, 4.8, 50_000), "plan": "basic"}), ["tenure"], ["plan"])
    window = pd.DataFrame({"tenure": np.r_[np.full(20, big["tenure"]["max"] + 1), np.full(980, 5.0)], "plan": "basic"})
    [issue] = [i for i in assess_quality(big, window, ["tenure"], ["plan"]) if i.check == "out_of_range"]
    assert issue.threshold == pytest.approx(0.01 + 6.64 / 50_000) and "chance" not in issue.message


def test_the_range_slack_matches_the_beta_distribution_of_a_samples_coverage():
    from scipy import stats as scipy_stats

    for n in (100, 240, 1000, 5000):
        exact = scipy_stats.beta.ppf(0.99, 2, n - 1)
        assert quality.range_slack({"count": n, "missing": 0}) == pytest.approx(exact, rel=0.03)


@pytest.mark.parametrize("seed", range(12))
def test_bin_counts_equal_numpys_histogram_on_the_reference_edges(seed):
    # values on the edges (the last one inclusive), repeated edges, ties, a handful or a million
    rng = np.random.default_rng(seed)
    n = int(rng.choice([0, 1, 7, 1000, 1_000_000]))
    edges = np.histogram_bin_edges(rng.normal(0, 1, 500), bins=20)  # as the reference statistics hold them
    edges = np.asarray(json.loads(json.dumps(edges.tolist())))
    if seed % 3 == 1:  # edges numpy would not have drawn: its general path
        edges = np.sort(np.concatenate([edges, edges[[3, 3, 10]]]))
    elif seed % 3 == 2:
        edges = np.histogram_bin_edges(np.array([4.0, 4.0]), bins=20, range=(3.5, 4.5))
    values = rng.normal(0, 1.2, n)
    if seed % 2:
        values = np.concatenate([np.round(values, 1), rng.choice(edges, 50)])
    values = values[(values >= edges[0]) & (values <= edges[-1])]
    assert quality.bin_counts(values, edges).tolist() == np.histogram(values, bins=edges)[0].tolist()


def test_the_shared_pass_charts_and_judges_as_each_function_alone(stats):
    # QualityPass parses and counts each column once for its checks and its chart; the issues and
    # charts are those of assess_quality and histograms called on their own
    window = table(3000, seed=9)
    window.loc[window.index[:400], "income"] = np.nan
    window.loc[window.index[:90], "age"] = 150.0
    window.loc[window.index[:60], "plan"] = "enterprise"
    issues, charts = quality.assess_with_histograms(stats, window, NUMERIC, CATEGORICAL)
    assert [(issue.check, issue.column) for issue in issues] == [
        ("completeness", "income"), ("out_of_range", "age"), ("new_categories", "plan")]
    for column in NUMERIC:  # numpy's own histogram of the window on the reference's edges
        edges = np.asarray(stats[column]["histogram"]["edges"])
        present = window[column].dropna().to_numpy()
        inside = present[(present >= edges[0]) & (present <= edges[-1])]
        assert charts[column] == {"edges": edges.tolist(), "counts": np.histogram(inside, edges)[0].tolist(),
                                  "below": int((present < edges[0]).sum()),
                                  "above": int((present > edges[-1]).sum()),
                                  "missing": int(window[column].isna().sum())}
    counts = window["plan"].value_counts()
    names = stats["plan"]["categories"]
    assert charts["plan"] == {"categories": names, "counts": [int(counts.get(n, 0)) for n in names],
                              "other": 60, "missing": 0}
