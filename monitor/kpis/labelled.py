"""KPIs of a window of labelled predictions (counts vectorised in numpy, scores and regression
through scikit-learn), for the whole window or per group of rows (segments).

Classification (:mod:`monitor.kpis.classification`): accuracy, precision, recall, F1 (binary: of
the positive class; multiclass: macro averages, plus ``*_weighted`` averages and a per-class
table), ROC-AUC when scores are logged and both classes occur, log loss likewise, and the
confusion matrix. Regression (:mod:`monitor.kpis.regression`): MAE, RMSE, R².
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.kpis.base import CLASSIFICATION_KPIS, REGRESSION_KPIS, Evaluation, label_key
from monitor.kpis.classification import classification_kpis, coded_kpis
from monitor.kpis.regression import regression_kpis
from monitor.spec import Task


def evaluate(
    y_true: list[Any] | np.ndarray,
    y_pred: list[Any] | np.ndarray,
    task: Task,
    *,
    scores: list[float | None] | np.ndarray | None = None,
    positive_label: Any = 1,
) -> Evaluation:
    """KPIs of predictions against labels.

    >>> evaluate([1, 0, 1, 1], [1, 0, 0, 1], Task.binary_classification).kpis["recall"]
    0.6666666666666666
    """
    n = len(y_true)
    if n != len(y_pred):
        raise ValueError(f"{n} labels but {len(y_pred)} predictions")
    if n == 0:
        names = REGRESSION_KPIS if task is Task.regression else CLASSIFICATION_KPIS
        return Evaluation({name: None for name in names}, 0, notes=["no labelled rows in the window"])
    if task is Task.regression:
        return regression_kpis(np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float))
    return classification_kpis(y_true, y_pred, task, scores, positive_label)


def evaluate_by(groups, y_true, y_pred, task: Task, *, scores=None, positive_label: Any = 1
                ) -> dict[str, Evaluation]:
    """:func:`evaluate` of each group of rows, keyed by the group value's ``label_key`` in sorted
    order (as ``monitor.reference.segments_of`` spells and orders segments). Labels are encoded
    once for all groups, so a slice costs its own rows, not another pass over the window.

    >>> parts = evaluate_by(["EU", "US", "EU"], [1, 0, 0], [1, 0, 1], Task.binary_classification)
    >>> {name: part.kpis["accuracy"] for name, part in parts.items()}
    {'EU': 0.5, 'US': 1.0}
    """
    from monitor.kpis.labels import encode_labels, encode_pair

    group_codes, group_keys = encode_labels(groups)
    order = np.argsort(group_codes, kind="stable")
    bounds = np.searchsorted(group_codes[order], np.arange(len(group_keys) + 1))
    rows = {key: order[bounds[i]:bounds[i + 1]] for i, key in enumerate(group_keys)}
    score_array = None if scores is None else np.asarray(scores, dtype=float)
    if task is Task.regression:
        truth, predicted = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
        return {key: evaluate(truth[rows[key]], predicted[rows[key]], task) for key in sorted(rows)}
    positive = label_key(positive_label) if task is Task.binary_classification else None
    truth, predicted, labels = encode_pair(y_true, y_pred, extra=[positive] if positive is not None else [])
    return {key: coded_kpis(truth[rows[key]], predicted[rows[key]], labels, task,
                            None if score_array is None else score_array[rows[key]], positive)
            for key in sorted(rows)}
