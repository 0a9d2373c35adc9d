"""KPIs of a window: checked against scikit-learn computed independently on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from monitor.kpis import (
    CLASSIFICATION_KPIS,
    LOWER_IS_BETTER,
    REGRESSION_KPIS,
    Evaluation,
    evaluate,
    label_key,
)
from monitor.spec import Task

BINARY = Task.binary_classification
MULTICLASS = Task.multiclass_classification
REGRESSION = Task.regression
TOL = 1e-12


def _binary_data(seed: int, n: int = 500):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0.001, 0.999)
    flips = rng.random(n) < 0.15
    predicted = np.where(flips, 1 - (scores > 0.5), scores > 0.5).astype(int)
    return y, predicted, scores


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_binary_matches_sklearn(seed):
    y, predicted, scores = _binary_data(seed)

    result = evaluate(y.tolist(), predicted.tolist(), BINARY, scores=scores.tolist())

    assert result.labelled_rows == len(y)
    kpis = result.kpis
    assert set(kpis) == set(CLASSIFICATION_KPIS)
    assert kpis["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=TOL)
    assert kpis["precision"] == pytest.approx(skm.precision_score(y, predicted, pos_label=1), abs=TOL)
    assert kpis["recall"] == pytest.approx(skm.recall_score(y, predicted, pos_label=1), abs=TOL)
    assert kpis["f1"] == pytest.approx(skm.f1_score(y, predicted, pos_label=1), abs=TOL)
    assert kpis["roc_auc"] == pytest.approx(skm.roc_auc_score(y, scores), abs=TOL)
    assert kpis["log_loss"] == pytest.approx(skm.log_loss(y, scores), abs=TOL)
    assert result.confusion_matrix == {
        "labels": ["0", "1"],
        "matrix": skm.confusion_matrix(y, predicted, labels=[0, 1]).tolist(),
    }
    assert result.notes == []


@pytest.mark.parametrize("seed", [4, 5])
def test_binary_with_positive_label_zero(seed):
    y, predicted, scores = _binary_data(seed)

    # scores are P(class 1); with class 0 as positive the score of the positive class is 1 - score
    result = evaluate(y, predicted, BINARY, scores=(1 - scores).tolist(), positive_label=0)

    kpis = result.kpis
    assert kpis["precision"] == pytest.approx(skm.precision_score(y, predicted, pos_label=0), abs=TOL)
    assert kpis["recall"] == pytest.approx(skm.recall_score(y, predicted, pos_label=0), abs=TOL)
    assert kpis["f1"] == pytest.approx(skm.f1_score(y, predicted, pos_label=0), abs=TOL)
    assert kpis["roc_auc"] == pytest.approx(skm.roc_auc_score((y == 0).astype(int), 1 - scores), abs=TOL)
    assert kpis["log_loss"] == pytest.approx(skm.log_loss((y == 0).astype(int), 1 - scores), abs=TOL)


def test_binary_with_string_labels_and_pos_label():
    rng = np.random.default_rng(7)
    names = np.array(["stay", "churn"])
    y = names[rng.integers(0, 2, 300)]
    predicted = np.where(rng.random(300) < 0.8, y, names[rng.integers(0, 2, 300)])
    scores = np.where(y == "churn", rng.uniform(0.3, 1, 300), rng.uniform(0, 0.7, 300))

    result = evaluate(list(y), list(predicted), BINARY, scores=list(scores), positive_label="churn")

    kpis = result.kpis
    assert kpis["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=TOL)
    assert kpis["precision"] == pytest.approx(skm.precision_score(y, predicted, pos_label="churn"), abs=TOL)
    assert kpis["recall"] == pytest.approx(skm.recall_score(y, predicted, pos_label="churn"), abs=TOL)
    assert kpis["f1"] == pytest.approx(skm.f1_score(y, predicted, pos_label="churn"), abs=TOL)
    assert kpis["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "churn", scores), abs=TOL)
    assert result.confusion_matrix["labels"] == ["churn", "stay"]


def test_binary_without_scores_has_no_roc_auc_or_log_loss():
    y, predicted, _ = _binary_data(8)
    kpis = evaluate(y, predicted, BINARY).kpis
    assert kpis["roc_auc"] is None
    assert kpis["log_loss"] is None
    assert kpis["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=TOL)


def test_rows_without_a_score_are_left_out_of_roc_auc_with_a_note():
    y, predicted, scores = _binary_data(9, n=200)
    with_gaps: list[float | None] = scores.tolist()
    missing = [3, 50, 51, 199]
    for index in missing:
        with_gaps[index] = None
    keep = np.ones(len(y), dtype=bool)
    keep[missing] = False

    result = evaluate(y.tolist(), predicted.tolist(), BINARY, scores=with_gaps)

    assert result.kpis["roc_auc"] == pytest.approx(skm.roc_auc_score(y[keep], scores[keep]), abs=TOL)
    assert result.kpis["log_loss"] == pytest.approx(skm.log_loss(y[keep], scores[keep]), abs=TOL)
    # accuracy etc. still use every labelled row
    assert result.kpis["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=TOL)
    assert result.notes == ["4 labelled rows without a score left out of ROC-AUC"]


def test_all_scores_missing_gives_no_roc_auc():
    result = evaluate([1, 0, 1], [1, 0, 0], BINARY, scores=[None, None, float("nan")])
    assert result.kpis["roc_auc"] is None
    assert result.kpis["log_loss"] is None


@pytest.mark.parametrize("truth", [[1, 1, 1, 1], [0, 0, 0, 0]])
def test_roc_auc_needs_both_classes(truth):
    result = evaluate(truth, [1, 0, 1, 0], BINARY, scores=[0.9, 0.2, 0.7, 0.4])
    assert result.kpis["roc_auc"] is None
    assert result.kpis["log_loss"] is None
    assert result.notes == ["ROC-AUC needs both classes among the labelled rows"]
    assert result.kpis["accuracy"] == 0.5


def test_positive_label_absent_from_window():
    result = evaluate([0, 0, 0], [0, 0, 0], BINARY)
    assert result.kpis["accuracy"] == 1.0
    assert result.kpis["precision"] == 0.0
    assert result.kpis["recall"] == 0.0
    assert result.kpis["f1"] == 0.0
    assert result.confusion_matrix == {"labels": ["0", "1"], "matrix": [[3, 0], [0, 0]]}


def test_extreme_scores_give_a_finite_log_loss():
    result = evaluate([1, 0, 1, 0], [1, 0, 1, 1], BINARY, scores=[1.0, 0.0, 0.0, 1.0])
    assert result.kpis["log_loss"] is not None and math.isfinite(result.kpis["log_loss"])


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_multiclass_macro_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 400)
    predicted = np.where(rng.random(400) < 0.6, y, rng.integers(0, 5, 400))  # class 4 is only ever predicted

    result = evaluate(y.tolist(), predicted.tolist(), MULTICLASS, scores=rng.random(400).tolist())

    kpis = result.kpis
    assert kpis["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=TOL)
    for name, function in (("precision", skm.precision_score), ("recall", skm.recall_score),
                           ("f1", skm.f1_score)):
        assert kpis[name] == pytest.approx(function(y, predicted, average="macro", zero_division=0), abs=TOL)
    # scores are those of a binary model: multiclass gets no ROC-AUC / log loss
    assert kpis["roc_auc"] is None
    assert kpis["log_loss"] is None
    labels = sorted(set(y.tolist()) | set(predicted.tolist()))
    assert result.confusion_matrix == {
        "labels": [str(v) for v in labels],
        "matrix": skm.confusion_matrix(y, predicted, labels=labels).tolist(),
    }


def test_multiclass_string_labels():
    y = ["cat", "dog", "bird", "dog", "cat", "bird", "dog"]
    predicted = ["cat", "cat", "bird", "dog", "dog", "bird", "dog"]
    kpis = evaluate(y, predicted, MULTICLASS).kpis
    assert kpis["f1"] == pytest.approx(skm.f1_score(y, predicted, average="macro"), abs=TOL)
    assert kpis["precision"] == pytest.approx(skm.precision_score(y, predicted, average="macro"), abs=TOL)


@pytest.mark.parametrize("seed", [20, 21, 22])
def test_regression_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 25, 300)
    predicted = y + rng.normal(0, 8, 300)

    result = evaluate(y.tolist(), predicted.tolist(), REGRESSION)

    assert set(result.kpis) == set(REGRESSION_KPIS)
    assert result.kpis["mae"] == pytest.approx(skm.mean_absolute_error(y, predicted), abs=TOL)
    assert result.kpis["rmse"] == pytest.approx(skm.root_mean_squared_error(y, predicted), abs=TOL)
    assert result.kpis["r2"] == pytest.approx(skm.r2_score(y, predicted), abs=TOL)
    assert result.labelled_rows == 300
    assert result.confusion_matrix is None
    assert result.notes == []


def test_regression_accepts_numeric_strings():
    result = evaluate(["1.5", "2", 3], [1.0, "2.5", 3], REGRESSION)
    assert result.kpis["mae"] == pytest.approx(skm.mean_absolute_error([1.5, 2, 3], [1.0, 2.5, 3]), abs=TOL)


def test_regression_single_row_has_no_r2():
    result = evaluate([1.0], [3.0], REGRESSION)
    assert result.kpis == {"mae": 2.0, "rmse": 2.0, "r2": None}


@pytest.mark.parametrize(("task", "names"), [(BINARY, CLASSIFICATION_KPIS), (MULTICLASS, CLASSIFICATION_KPIS),
                                             (REGRESSION, REGRESSION_KPIS)])
def test_empty_input_gives_none_kpis_and_a_note(task, names):
    result = evaluate([], [], task, scores=[])
    assert result.kpis == {name: None for name in names}
    assert result.labelled_rows == 0
    assert result.confusion_matrix is None
    assert result.notes == ["no labelled rows in the window"]


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        evaluate([1, 0, 1], [1, 0], BINARY)


@pytest.mark.parametrize("value", [1, 1.0, "1", np.int64(1), np.float64(1.0)])
def test_label_key_treats_one_the_same(value):
    assert label_key(value) == "1"


def test_label_key_keeps_fractions_and_text():
    assert label_key(1.5) == "1.5"
    assert label_key("yes") == "yes"
    assert label_key(0.0) == "0"


def test_mixed_label_types_are_equal():
    truth = [1, 0, 1.0, "1", "0", 0.0]
    predicted = ["1", 0.0, 1, 1.0, 0, "0"]
    result = evaluate(truth, predicted, BINARY, scores=[0.9, 0.1, 0.8, 0.7, 0.3, 0.2], positive_label=1.0)
    assert result.kpis["accuracy"] == 1.0
    assert result.kpis["precision"] == 1.0
    assert result.kpis["recall"] == 1.0
    assert result.kpis["roc_auc"] == 1.0
    assert result.confusion_matrix == {"labels": ["0", "1"], "matrix": [[3, 0], [0, 3]]}


def test_positive_label_given_as_text_matches_integer_labels():
    by_int = evaluate([1, 0, 1, 1], [1, 0, 0, 1], BINARY, positive_label=1)
    by_text = evaluate([1, 0, 1, 1], [1, 0, 0, 1], BINARY, positive_label="1")
    assert by_text.kpis == by_int.kpis
    assert by_int.kpis["recall"] == pytest.approx(2 / 3, abs=TOL)


def test_mixed_types_in_multiclass():
    truth = [0, 1.0, "2", 2, "1", 0.0]
    predicted = ["0", 1, 2.0, "2", 1, 1]
    result = evaluate(truth, predicted, MULTICLASS)
    assert result.confusion_matrix["labels"] == ["0", "1", "2"]
    assert result.kpis["accuracy"] == pytest.approx(5 / 6, abs=TOL)


def test_float32_labels_equal_integer_predictions():
    truth = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    result = evaluate(truth, [1, 0, 1], BINARY)
    assert result.kpis["accuracy"] == 1.0


def test_evaluation_to_json():
    result = evaluate([1, 0], [1, 1], BINARY)
    assert result.to_json() == {
        "kpis": result.kpis,
        "labelled_rows": 2,
        "confusion_matrix": {"labels": ["0", "1"], "matrix": [[0, 1], [0, 1]]},
        "notes": [],
        "per_class": None,
    }
    assert isinstance(result, Evaluation)


def test_lower_is_better():
    assert LOWER_IS_BETTER == {"mae", "rmse", "log_loss"}


def test_multiclass_has_weighted_averages_and_a_per_class_table_matching_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(4)
    truth = rng.choice(["a", "b", "c"], 500, p=[0.6, 0.3, 0.1])
    predicted = np.where(rng.random(500) < 0.7, truth, rng.choice(["a", "b", "c"], 500))
    result = evaluate(list(truth), list(predicted), Task.multiclass_classification)
    assert result.kpis["f1_weighted"] == pytest.approx(skm.f1_score(truth, predicted, average="weighted"), rel=1e-12)
    assert result.kpis["recall_weighted"] == pytest.approx(
        skm.recall_score(truth, predicted, average="weighted"), rel=1e-12)
    precision, recall, f1, support = skm.precision_recall_fscore_support(truth, predicted, labels=["a", "b", "c"])
    assert [result.per_class[c]["support"] for c in "abc"] == list(support)
    assert [result.per_class[c]["f1"] for c in "abc"] == pytest.approx(list(f1), rel=1e-12)


def test_per_class_table_renders_in_the_report():
    from monitor.reports import render_html

    html = render_html({"model": "m", "run_id": "r", "per_class": {
        "<b>": {"precision": 0.5, "recall": 0.25, "f1": 0.333, "support": 12}}})
    assert "Per class" in html and "&lt;b&gt;" in html and "<b>" not in html.split("<main>")[1]
