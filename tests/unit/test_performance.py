"""The performance-drop rules: relative change against the baseline, per KPI."""

from __future__ import annotations

import pytest

from monitor.detect.rules.performance import (
    KIND,
    PERFORMANCE_RULES,
    detect_performance_drop,
    relative_change,
    rule_names,
)
from monitor.spec import Rules


def _one(kpis, baseline, rule, labelled_rows=500, rules=None):
    found = [e for e in detect_performance_drop(kpis, baseline, labelled_rows, rules or Rules()) if e.rule == rule]
    assert len(found) == 1, found
    return found[0]


# --- relative_change -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "baseline", "metric", "change"),
    [
        (0.72, 0.80, "recall", 10.0),     # fell 10% relative: worse
        (0.88, 0.80, "recall", -10.0),    # rose: better
        (0.80, 0.80, "recall", 0.0),
        (12.0, 10.0, "mae", 20.0),        # error rose 20%: worse
        (8.0, 10.0, "rmse", -20.0),       # error fell: better
        (0.3, 0.2, "log_loss", 50.0),
        (-1.0, -0.5, "r2", 100.0),        # a negative baseline still reads "lower is worse"
    ],
)
def test_relative_change(value, baseline, metric, change):
    assert relative_change(value, baseline, metric) == pytest.approx(change, abs=1e-9)


def test_relative_change_of_zero_baseline_is_none():
    assert relative_change(0.5, 0.0, "recall") is None
    assert relative_change(0.5, 0.0, "mae") is None


# --- firing / ok ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "metric", "baseline", "value", "change"),
    [
        ("accuracy_drop", "accuracy", 0.90, 0.76, 15.555555555555557),
        ("precision_drop", "precision", 0.80, 0.70, 12.5),
        ("recall_drop", "recall", 0.80, 0.68, 15.0),
        ("f1_drop", "f1", 0.50, 0.40, 20.0),
        ("roc_auc_drop", "roc_auc", 0.90, 0.81, 10.0),
        ("r2_drop", "r2", 0.60, 0.51, 15.0),
        ("mae_increase", "mae", 10.0, 13.0, 30.0),
        ("rmse_increase", "rmse", 4.0, 5.0, 25.0),
    ],
)
def test_rule_fires_when_the_relative_change_exceeds_its_threshold(rule, metric, baseline, value, change):
    evaluation = _one({metric: value}, {metric: baseline}, rule)

    assert evaluation.status == "firing"
    assert evaluation.severity == "warning"
    assert evaluation.kind == KIND == "performance_drop"
    assert evaluation.metric == metric
    assert evaluation.value == value
    assert evaluation.baseline == baseline
    assert evaluation.threshold == getattr(Rules(), PERFORMANCE_RULES[rule][1])
    assert evaluation.details["change_pct"] == pytest.approx(change, abs=1e-9)
    direction = "rose" if metric in ("mae", "rmse") else "fell"
    assert evaluation.message.startswith(f"{metric} {direction} {change:.1f}% against its baseline {baseline:.3f}")


@pytest.mark.parametrize(
    ("metric", "baseline", "value"),
    [
        ("recall", 0.80, 0.79),
        ("recall", 0.80, 0.95),      # better than the baseline
        ("mae", 10.0, 11.0),
        ("mae", 10.0, 5.0),          # error fell: fine
        ("rmse", 4.0, 4.79),
        ("roc_auc", 0.90, 0.86),
    ],
)
def test_ok_when_within_threshold(metric, baseline, value):
    rule = {"recall": "recall_drop", "mae": "mae_increase", "rmse": "rmse_increase", "roc_auc": "roc_auc_drop"}[metric]
    evaluation = _one({metric: value}, {metric: baseline}, rule)
    assert evaluation.status == "ok"
    assert "is within" in evaluation.message
    assert evaluation.details["change_pct"] == pytest.approx(relative_change(value, baseline, metric), abs=1e-12)


@pytest.mark.parametrize(("metric", "rule"), [("recall", "recall_drop"), ("mae", "mae_increase")])
def test_increase_and_drop_rules_point_in_opposite_directions(metric, rule):
    # a KPI rising 50% is good news for recall and bad news for MAE
    evaluation = _one({metric: 1.5}, {metric: 1.0}, rule)
    assert evaluation.status == ("ok" if metric == "recall" else "firing")


def test_change_exactly_at_threshold_is_ok():
    rules = Rules(recall_drop_pct=25.0)
    evaluation = _one({"recall": 0.75}, {"recall": 1.0}, "recall_drop", rules=rules)
    assert evaluation.details["change_pct"] == 25.0
    assert evaluation.status == "ok"


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        (0.70, "warning"),    # 30% drop, threshold 25%
        (0.50, "warning"),    # exactly 2x the threshold: still a warning
        (0.49, "critical"),   # 51% > 2 x 25%
        (0.05, "critical"),
    ],
)
def test_severity_is_critical_beyond_twice_the_threshold(value, severity):
    evaluation = _one({"recall": value}, {"recall": 1.0}, "recall_drop", rules=Rules(recall_drop_pct=25.0))
    assert evaluation.status == "firing"
    assert evaluation.severity == severity


@pytest.mark.parametrize(("value", "severity"), [(14.0, "warning"), (15.0, "critical")])
def test_severity_of_increase_rules(value, severity):
    # mae threshold 20%: +40% is 2x (warning), +50% is critical
    evaluation = _one({"mae": value}, {"mae": 10.0}, "mae_increase")
    assert evaluation.status == "firing"
    assert evaluation.severity == severity


# --- insufficient data, disabled rules, missing KPIs -------------------------------------------


@pytest.mark.parametrize(("rows", "status"), [(0, "insufficient_data"), (49, "insufficient_data"),
                                              (50, "firing"), (51, "firing")])
def test_min_labelled_rows(rows, status):
    evaluation = _one({"recall": 0.5}, {"recall": 0.8}, "recall_drop", labelled_rows=rows)
    assert evaluation.status == status
    if status == "insufficient_data":
        assert evaluation.message == f"recall: {rows} labelled rows, the rule needs 50"


def test_min_labelled_rows_comes_from_the_rules():
    rules = Rules(min_labelled_rows=10)
    assert _one({"recall": 0.5}, {"recall": 0.8}, "recall_drop", labelled_rows=10, rules=rules).status == "firing"
    assert _one({"recall": 0.5}, {"recall": 0.8}, "recall_drop", labelled_rows=9,
                rules=rules).status == "insufficient_data"


def test_insufficient_rows_apply_to_every_rule():
    kpis = {"accuracy": 0.1, "precision": 0.1, "recall": 0.1, "f1": 0.1, "roc_auc": 0.1}
    baseline = {k: 0.9 for k in kpis}
    evaluations = detect_performance_drop(kpis, baseline, 3, Rules())
    assert {e.rule for e in evaluations} == {"accuracy_drop", "precision_drop", "recall_drop", "f1_drop",
                                             "roc_auc_drop"}
    assert all(e.status == "insufficient_data" for e in evaluations)


@pytest.mark.parametrize(("kpis", "baseline"), [({"roc_auc": None}, {"roc_auc": 0.9}),
                                                ({"roc_auc": 0.7}, {"roc_auc": None})])
def test_kpi_that_could_not_be_computed_is_insufficient_data(kpis, baseline):
    evaluation = _one(kpis, baseline, "roc_auc_drop")
    assert evaluation.status == "insufficient_data"
    assert evaluation.message == "roc_auc could not be computed for this window"


def test_disabled_rule_is_not_evaluated():
    rules = Rules(recall_drop_pct=None)
    evaluations = detect_performance_drop({"recall": 0.1, "precision": 0.1}, {"recall": 0.9, "precision": 0.9},
                                          500, rules)
    assert [e.rule for e in evaluations] == ["precision_drop"]


def test_disabled_rule_is_not_evaluated_even_without_enough_rows():
    rules = Rules(recall_drop_pct=None)
    evaluations = detect_performance_drop({"recall": 0.1}, {"recall": 0.9}, 1, rules)
    assert evaluations == []


def test_rules_of_kpis_the_model_does_not_have_are_skipped():
    kpis = {"mae": 1.0, "rmse": 2.0, "r2": 0.5}
    evaluations = detect_performance_drop(kpis, dict(kpis), 500, Rules())
    assert [e.rule for e in evaluations] == ["r2_drop", "mae_increase", "rmse_increase"]
    assert all(e.status == "ok" for e in evaluations)


def test_kpi_missing_from_the_baseline_is_skipped():
    evaluations = detect_performance_drop({"recall": 0.5, "f1": 0.5}, {"f1": 0.5}, 500, Rules())
    assert [e.rule for e in evaluations] == ["f1_drop"]


def test_zero_baseline_is_skipped():
    evaluations = detect_performance_drop({"mae": 3.0}, {"mae": 0.0}, 500, Rules())
    assert evaluations == []


def test_every_classification_rule_in_order():
    kpis = {"accuracy": 0.9, "precision": 0.5, "recall": 0.9, "f1": 0.9, "roc_auc": 0.9, "log_loss": 0.3}
    baseline = {"accuracy": 0.9, "precision": 0.9, "recall": 0.9, "f1": 0.9, "roc_auc": 0.9, "log_loss": 0.3}
    evaluations = detect_performance_drop(kpis, baseline, 500, Rules())
    assert [(e.rule, e.status) for e in evaluations] == [
        ("accuracy_drop", "ok"), ("precision_drop", "firing"), ("recall_drop", "ok"), ("f1_drop", "ok"),
        ("roc_auc_drop", "ok"),
    ]


def test_rule_names():
    assert rule_names() == ["accuracy_drop", "precision_drop", "recall_drop", "f1_drop", "roc_auc_drop",
                            "r2_drop", "mae_increase", "rmse_increase"]
    for metric, field_name in PERFORMANCE_RULES.values():
        assert hasattr(Rules(), field_name)


def test_evaluation_to_json():
    evaluation = _one({"recall": 0.5}, {"recall": 0.8}, "recall_drop")
    data = evaluation.to_json()
    assert data["rule"] == "recall_drop"
    assert data["status"] == "firing"
    assert data["severity"] == "critical"
    assert data["segment"] == ""
    assert data["details"]["change_pct"] == pytest.approx(37.5)
