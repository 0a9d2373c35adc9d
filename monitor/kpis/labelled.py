"""KPIs of a window of labelled predictions, computed with scikit-learn.

Classification (:mod:`monitor.kpis.classification`): accuracy, precision, recall, F1 (binary: of
the positive class; multiclass: macro averages, plus ``*_weighted`` averages and a per-class
table), ROC-AUC when scores are logged and both classes occur, log loss likewise, and the
confusion matrix. Regression (:mod:`monitor.kpis.regression`): MAE, RMSE, R².
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.kpis.base import CLASSIFICATION_KPIS, REGRESSION_KPIS, Evaluation
from monitor.kpis.classification import classification_kpis
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
