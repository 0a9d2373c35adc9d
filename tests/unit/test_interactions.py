"""Interaction KPIs, the proportion tests behind the drop rules, and the interaction ingestion edge."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import chi2_contingency, chisquare, norm

from monitor.detect.rules.interaction_drop import interaction_evaluations, one_proportion_ztest, two_proportion_ztest
from monitor.errors import IngestError, SpecError
from monitor.ingest import read_batches, validate_records
from monitor.kpis.interactions import PooledReference, count_interactions
from monitor.spec import InteractionSpec, parse_spec

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


# --- the tests themselves ----------------------------------------------------------------------

def test_two_proportion_ztest_matches_statsmodels_known_answer():
    # statsmodels.stats.proportion.proportions_ztest([5, 12], [83, 99]) -> (-1.4078304151258787, 0.15918129181156992)
    test = two_proportion_ztest(5, 83, 12, 99)
    assert test.z == pytest.approx(-1.4078304151258787, rel=1e-12)
    assert 2 * test.p_value == pytest.approx(0.15918129181156992, rel=1e-9)  # ours is one-sided
    assert test.rate == pytest.approx(5 / 83) and test.reference_rate == pytest.approx(12 / 99)


@pytest.mark.parametrize("seed", range(5))
def test_two_proportion_ztest_squared_is_the_uncorrected_chi_square_of_the_2x2_table(seed):
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(50, 5000, 2)
    x1, x2 = rng.integers(1, n1), rng.integers(1, n2)
    test = two_proportion_ztest(int(x1), int(n1), int(x2), int(n2))
    chi2, p_two_sided, _, _ = chi2_contingency(np.array([[x1, n1 - x1], [x2, n2 - x2]]), correction=False)
    assert test.z ** 2 == pytest.approx(chi2, rel=1e-9)
    assert 2 * min(test.p_value, 1 - test.p_value) == pytest.approx(p_two_sided, rel=1e-7)
    assert (test.z < 0) == (x1 / n1 < x2 / n2)


def test_one_proportion_score_test_matches_chi_square_goodness_of_fit():
    test = one_proportion_ztest(30, 400, 0.1)
    assert test.z == pytest.approx(-5 / 3)  # (0.075 - 0.1) / sqrt(0.1 * 0.9 / 400)
    assert test.p_value == pytest.approx(norm.cdf(-5 / 3))
    statistic, p_two_sided = chisquare([30, 370], f_exp=[40, 360])
    assert test.z ** 2 == pytest.approx(statistic)
    assert 2 * test.p_value == pytest.approx(p_two_sided)


def test_degenerate_samples_give_no_evidence_of_a_drop():
    assert two_proportion_ztest(0, 100, 0, 100).p_value == 1.0
    with pytest.raises(ValueError, match="at least one trial"):
        two_proportion_ztest(0, 0, 1, 10)
    with pytest.raises(ValueError, match="inside"):
        one_proportion_ztest(1, 10, 1.0)


# --- KPIs --------------------------------------------------------------------------------------

def test_counts_count_a_request_once_and_ignore_other_events():
    events = [("a", "click", None), ("a", "click", None), ("b", "click", None), ("b", "purchase", 20.0),
              ("c", "conversion", None), ("c", "rating", 5.0), ("d", "feedback", 1.0), ("d", "view", None)]
    counts = count_interactions(10, events, InteractionSpec())
    assert (counts.impressions, counts.clicks, counts.conversions, counts.events) == (10, 2, 2, 8)
    kpis = counts.kpis()
    assert kpis["click_through_rate"] == 0.2 and kpis["conversion_rate"] == 0.2 and kpis["mean_feedback"] == 3.0
    assert count_interactions(0, [], InteractionSpec()).kpis()["click_through_rate"] is None


def test_event_roles_are_configurable_and_must_not_overlap():
    spec = parse_spec({"name": "rec", "task": "binary_classification",
                       "interactions": {"events": {"click": ["Tap", "click"], "conversion": ["signup"]}}})[0]
    assert spec.interactions.events.role_of("tap") == "click"
    assert count_interactions(2, [("a", "tap", None)], spec.interactions).clicks == 1
    with pytest.raises(SpecError, match="both click and conversion"):
        parse_spec({"name": "rec", "task": "binary_classification",
                    "interactions": {"events": {"click": ["click"], "conversion": ["click"]}}})
    with pytest.raises(SpecError, match="interactions.ctr_drop_pct"):
        parse_spec({"name": "rec", "task": "binary_classification", "interactions": {"ctr_drop_pct": -1}})


# --- the rules ---------------------------------------------------------------------------------

def _counts(impressions: int, clicks: int, conversions: int = 0) -> dict:
    return count_interactions(impressions, [(f"c{i}", "click", None) for i in range(clicks)]
                              + [(f"v{i}", "conversion", None) for i in range(conversions)],
                              InteractionSpec()).to_json()


def _by_rule(evaluations):
    return {e.rule: e for e in evaluations}


def test_a_collapsed_click_through_fires_with_rates_z_and_p():
    reference = PooledReference(impressions=5000, clicks=600, conversions=100, windows=5)
    found = _by_rule(interaction_evaluations(_counts(1000, 30, 20), reference, InteractionSpec()))
    ctr = found["ctr_drop"]
    assert ctr.status == "firing" and ctr.kind == "interaction_drop" and ctr.severity == "critical"
    assert ctr.value == pytest.approx(0.03) and ctr.baseline == pytest.approx(0.12)
    expected = two_proportion_ztest(30, 1000, 600, 5000)
    assert ctr.details["z"] == pytest.approx(expected.z) and ctr.details["p_value"] == pytest.approx(expected.p_value)
    assert ctr.details["p_value"] < 1e-10 and ctr.details["reference_windows"] == 5
    assert "z=" in ctr.message and "p=" in ctr.message
    assert found["conversion_drop"].status == "ok"  # 2.0% against 2.0%


def test_a_large_drop_on_few_impressions_is_not_significant_and_does_not_fire():
    reference = PooledReference(impressions=2000, clicks=200, conversions=0, windows=2)
    spec = InteractionSpec(min_impressions=20, conversion_drop_pct=None)
    found = _by_rule(interaction_evaluations(_counts(30, 1), reference, spec))  # 3.3% vs 10%: -67%
    assert set(found) == {"ctr_drop"}
    assert found["ctr_drop"].status == "ok" and found["ctr_drop"].details["p_value"] > spec.alpha
    assert "not significant" in found["ctr_drop"].message


def test_a_significant_but_small_drop_stays_within_the_threshold():
    reference = PooledReference(impressions=200_000, clicks=20_000, conversions=0, windows=24)
    found = _by_rule(interaction_evaluations(_counts(100_000, 9_500), reference, InteractionSpec()))
    assert found["ctr_drop"].details["p_value"] < 0.001 and found["ctr_drop"].status == "ok"


def test_a_spec_reference_rate_is_tested_with_the_one_sample_test():
    spec = InteractionSpec(reference={"click_through_rate": 0.1}, conversion_drop_pct=None)
    evaluation, = interaction_evaluations(_counts(400, 30), None, spec)
    assert evaluation.details["method"] == "one_sample_score" and evaluation.details["reference"] == "spec"
    assert evaluation.details["z"] == pytest.approx(-5 / 3)
    assert evaluation.status == "ok"  # 25% drop, but p = 0.048 is not below alpha 0.01


def test_too_few_impressions_or_no_reference_is_insufficient_data():
    spec = InteractionSpec()
    few = interaction_evaluations(_counts(50, 0), PooledReference(5000, 500, 50, 3), spec)
    assert {e.status for e in few} == {"insufficient_data"}
    unreferenced = interaction_evaluations(_counts(1000, 0), PooledReference(0, 0, 0, 0), spec)
    assert {e.status for e in unreferenced} == {"insufficient_data"}
    assert "interactions.reference" in unreferenced[0].message
    assert interaction_evaluations(None, None, spec) == []


# --- ingestion -----------------------------------------------------------------------------------

@pytest.fixture
def spec():
    return parse_spec({"name": "rec", "task": "binary_classification"})[0]


def test_interaction_rows_are_validated_and_bad_ones_quarantined_with_the_reason(spec):
    records = [
        {"request_id": "a", "event": "click", "ts": "2024-05-02T11:00:00Z"},
        {"request_id": "a", "event": "CLICK", "ts": "2024-05-02T11:00:00Z"},  # the same event again
        {"request_id": "a", "event": "click", "ts": "2024-05-02T11:00:05Z"},  # a second click
        {"request_id": "b", "event": "clik", "ts": "2024-05-02T11:00:00Z"},
        {"request_id": "c", "event": "rating", "ts": "2024-05-02T11:00:00Z"},
        {"request_id": "d", "event": "rating", "value": "4.5", "ts": 1714647600},
        {"request_id": "e", "event": "purchase"},
        {"request_id": "", "event": "click", "ts": "2024-05-02T11:00:00Z"},
        {"request_id": "f", "event": "click", "ts": "2024-05-09T11:00:00Z"},  # a week ahead of NOW
    ]
    batch = validate_records(records, "interactions", spec, now=NOW)
    assert [(r["request_id"], r["event"], r["value"]) for r in batch.rows] == [
        ("a", "click", None), ("a", "click", None), ("d", "rating", 4.5)]
    assert batch.rows[2]["ts"] == dt.datetime(2024, 5, 2, 11, 0, tzinfo=UTC)
    assert batch.duplicates == 1
    reasons = {r.row_number: r.reason for r in batch.rejected}
    assert set(reasons) == {4, 5, 7, 8, 9}
    assert "unknown event 'clik'" in reasons[4] and "interactions.events" in reasons[4]
    assert reasons[5] == "column 'value': a 'rating' event needs a numeric value"
    assert reasons[7] == "column 'ts' is missing"
    assert "empty request id" in reasons[8]
    assert "in the future" in reasons[9]


def test_interaction_files_stream_like_the_other_kinds(spec, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("request_id,event,value,ts\nr1,click,,2024-05-02T11:00:00Z\nr2,view,,2024-05-02T11:00:00Z\n"
                    "r3,rating,abc,2024-05-02T11:00:00Z\n")
    batch, = read_batches(path, "interactions", spec)
    assert [r["event"] for r in batch.rows] == ["click", "view"]
    assert [(r.row_number, r.reason) for r in batch.rejected] == [
        (3, "column 'value': cannot parse 'abc' as a number")]
    (tmp_path / "no_event.csv").write_text("request_id,ts\nr1,2024-05-02T11:00:00Z\n")
    with pytest.raises(IngestError, match="required column 'event' missing for interactions"):
        read_batches(tmp_path / "no_event.csv", "interactions", spec)
