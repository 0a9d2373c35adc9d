"""The vectorised KPIs (``monitor.kpis.classification`` on encoded labels) give exactly what the
scikit-learn calls on Python lists gave before: every KPI, the confusion matrix, the per-class
table, the notes and the errors, on random data and on the edge cases (one class, an absent
positive class, NaN, None, string and bool labels, mixed types, zero divisions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from monitor.check.evaluate import segment_kpis, window_kpis
from monitor.kpis import Evaluation, evaluate, label_key
from monitor.kpis.labels import encode_labels
from monitor.spec import ModelSpec, Task

BINARY, MULTICLASS = Task.binary_classification, Task.multiclass_classification


def sklearn_kpis(y_true, y_pred, task: Task, scores=None, positive_label: Any = 1) -> Evaluation:
    """The implementation this module replaced, verbatim in its logic: scikit-learn on label keys."""
    truth = np.array([label_key(v) for v in y_true], dtype=object)
    predicted = np.array([label_key(v) for v in y_pred], dtype=object)
    labels = sorted(set(truth) | set(predicted))
    notes: list[str] = []
    if task is BINARY:
        positive = label_key(positive_label)
        average: dict[str, Any] = {"average": "binary", "pos_label": positive}
        if positive not in labels:
            labels = sorted([*labels, positive])
    else:
        average = {"average": "macro", "labels": labels}

    def finite(v):
        v = float(v)
        return v if np.isfinite(v) else None

    kpis = {"accuracy": finite(skm.accuracy_score(truth, predicted)),
            "precision": finite(skm.precision_score(truth, predicted, zero_division=0, **average)),
            "recall": finite(skm.recall_score(truth, predicted, zero_division=0, **average)),
            "f1": finite(skm.f1_score(truth, predicted, zero_division=0, **average)),
            "roc_auc": None, "log_loss": None}
    if task is BINARY and scores is not None:
        s = np.array([np.nan if x is None else x for x in scores], dtype=float)
        has = np.isfinite(s)
        if has.any():
            if not has.all():
                notes.append(f"{int((~has).sum())} labelled rows without a score left out of ROC-AUC")
            y = (truth[has] == label_key(positive_label)).astype(int)
            if len(set(y)) < 2:
                notes.append("ROC-AUC needs both classes among the labelled rows")
            else:
                kpis["roc_auc"] = finite(skm.roc_auc_score(y, s[has]))
                kpis["log_loss"] = finite(skm.log_loss(y, np.clip(s[has], 1e-15, 1 - 1e-15), labels=[0, 1]))
    per_class = None
    if task is MULTICLASS:
        kwargs = {"average": "weighted", "labels": labels, "zero_division": 0}
        kpis["precision_weighted"] = finite(skm.precision_score(truth, predicted, **kwargs))
        kpis["recall_weighted"] = finite(skm.recall_score(truth, predicted, **kwargs))
        kpis["f1_weighted"] = finite(skm.f1_score(truth, predicted, **kwargs))
        p, r, f, n = skm.precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
        per_class = {lab: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
                     for lab, a, b, c, d in zip(labels, p, r, f, n)}
    matrix = skm.confusion_matrix(truth, predicted, labels=labels)
    return Evaluation(kpis, len(truth), {"labels": labels, "matrix": matrix.astype(int).tolist()}, notes, per_class)


def assert_same(y_true, y_pred, task, scores=None, positive_label: Any = 1):
    try:
        expected = sklearn_kpis(y_true, y_pred, task, scores, positive_label)
    except ValueError as exc:
        with pytest.raises(ValueError) as raised:
            evaluate(y_true, y_pred, task, scores=scores, positive_label=positive_label)
        assert str(raised.value).split(".")[0] == str(exc).split(".")[0]
        return
    got, wanted = evaluate(y_true, y_pred, task, scores=scores, positive_label=positive_label).to_json(), \
        expected.to_json()
    for name in SCORE_KPIS:  # numpy's Mann-Whitney AUC and cross-entropy: scikit-learn's to 1e-12
        got_value, wanted_value = got["kpis"].pop(name, None), wanted["kpis"].pop(name, None)
        assert (got_value is None) == (wanted_value is None), name
        if wanted_value is not None:
            assert got_value == pytest.approx(wanted_value, rel=1e-12, abs=1e-12), name
    assert got == wanted  # every count KPI exact: no tolerance


SCORE_KPIS = ("roc_auc", "log_loss")


@pytest.mark.parametrize("seed", range(4))
def test_random_binary_and_multiclass_match_sklearn_exactly(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 800))
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.2, 1 - y, y)
    scores = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1)
    scores[rng.random(n) < 0.05] = np.nan
    assert_same(y, p, BINARY, scores=scores)
    assert_same(y.tolist(), p.tolist(), BINARY, scores=scores.tolist(), positive_label=0)
    k = int(rng.integers(2, 9))
    names = np.array([f"class_{i}" for i in range(k)], dtype=object)
    truth = names[rng.integers(0, k, n)]
    predicted = np.where(rng.random(n) < 0.3, names[rng.integers(0, k - 1, n)], truth)  # last class rarely predicted
    assert_same(truth, predicted, MULTICLASS)
    assert_same(rng.integers(0, k, n), rng.integers(0, k + 2, n), MULTICLASS)


@pytest.mark.parametrize("y_true, y_pred, task, positive", [
    ([1, 1, 1], [1, 1, 1], BINARY, 1),                         # single class, the positive one
    ([0, 0, 0], [0, 0, 0], BINARY, 1),                         # positive class absent: zero division
    ([0, 0, 1], [0, 0, 0], BINARY, 1),                         # never predicted positive
    (["no", "yes"], ["yes", "yes"], BINARY, "yes"),            # string labels
    ([True, False, True], [True, True, False], BINARY, True),  # bool labels
    ([True, False], [1, 0], BINARY, 1),                        # bools against ints: 'True' is not '1'
    ([1.0, 0.0, 1.0], [1, 0, 0], BINARY, 1),                   # 1.0 and 1 agree
    (["1", "0"], [1, 0], BINARY, 1),                           # "1" and 1 agree
    ([0, 2, 2], [0, 0, 2], BINARY, 1),                         # absent positive among two labels: error
    ([0, 1, 2], [0, 1, 1], BINARY, 1),                         # three labels for a binary model: error
    ([1, 0, 1], [1, None, np.nan], BINARY, 1),                 # missing predictions are labels of their own
    (["a", "b", "c"], ["a", "a", "a"], MULTICLASS, 1),         # classes never predicted
    (["a"], ["b"], MULTICLASS, 1),                             # nothing right
    ([1, "1", 1.0, "a"], ["1", 1, "b", None], MULTICLASS, 1),  # mixed types take the exact path
    ([np.nan, 1.0, 2.5], [1.0, 1.0, 2.5], MULTICLASS, 1),      # NaN and non-integer floats
])
def test_edge_cases_match_sklearn_exactly(y_true, y_pred, task, positive):
    assert_same(y_true, y_pred, task, positive_label=positive)
    assert_same(np.asarray(y_true, dtype=object), pd.Series(y_pred, dtype=object), task, positive_label=positive)


def test_scores_edge_cases_match_sklearn_exactly():
    assert_same([1, 1, 1], [1, 1, 0], BINARY, scores=[0.9, 0.8, 0.4])          # one class: no ROC-AUC
    assert_same([1, 0, 1], [1, 0, 0], BINARY, scores=[None, None, None])       # no scores at all
    assert_same([1, 0, 1, 0], [1, 0, 0, 0], BINARY, scores=[0.9, None, 0.2, 0.1])


def test_encode_labels_gives_label_key_of_every_value():
    values = [1, 1.0, "1", True, np.int64(1), np.float64(2.0), None, np.nan, "x", 1e20]
    codes, keys = encode_labels(values)
    assert [keys[c] for c in codes] == [label_key(v) for v in values]
    assert len(keys) == len(set(keys))
    text = pd.Series(["a", None, "b", "a"])  # pandas' string dtype: missing reads as NaN
    codes, keys = encode_labels(text)
    assert [keys[c] for c in codes] == [label_key(v) for v in text.to_numpy()]


def test_segment_kpis_match_each_segment_evaluated_alone():
    rng = np.random.default_rng(7)
    n = 2000
    frame = pd.DataFrame({"label": rng.integers(0, 3, n), "prediction": rng.integers(0, 3, n),
                          "score": rng.random(n), "region": rng.choice(np.array(["EU", "US", 1, None], dtype=object), n)})
    frame.loc[frame["region"] == 1, "prediction"] = 0  # one segment where classes are absent
    spec = ModelSpec(name="m", task="multiclass_classification",
                     columns={"categorical": ["region"], "segments": ["region"]})
    segments = segment_kpis(frame, spec, False, {"region=EU": {"kpis": {"accuracy": 0.5}}})
    assert sorted(segments) == ["region=1", "region=EU", "region=None", "region=US"]
    for name, part in segments.items():
        rows = frame[frame["region"].map(label_key) == name.split("=", 1)[1]]
        expected = sklearn_kpis(rows["label"].tolist(), rows["prediction"].tolist(), spec.task)
        assert part.kpis == expected.kpis and part.labelled_rows == len(rows)
    assert segments["region=EU"].baseline == {"accuracy": 0.5}
    assert window_kpis(frame, spec, False).to_json() == sklearn_kpis(frame["label"], frame["prediction"], spec.task).to_json()


@pytest.mark.parametrize("name", ["monitor.kpis.labels", "monitor.kpis.labelled", "monitor.detect.rules.multivariate"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted and not result.failed


@pytest.mark.parametrize("values", [
    pd.Series(["a", "b", "a", None, "c", "a"]),                      # pandas string dtype
    pd.Series(["a", "b", "a", None, "c", "a"], dtype=object),        # plain strings
    pd.Series([1, True, 1.0, "1", None, 2], dtype=object),           # hash-alike values of different text
])
def test_text_counts_is_counting_the_text_of_every_row(values):
    from monitor.quality import text_counts

    expected = values.dropna().astype(str).value_counts()
    assert text_counts(values).to_dict() == expected.to_dict()
