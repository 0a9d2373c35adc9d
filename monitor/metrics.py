"""KPIs of a window of labelled predictions, computed with scikit-learn.

Classification: accuracy, precision, recall, F1 (binary: of the positive class; multiclass:
macro averages, plus ``*_weighted`` averages and a per-class table), ROC-AUC when scores are
logged and both classes occur, log loss likewise, and the confusion matrix. Regression: MAE,
RMSE, R².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm

from monitor.spec import Task

CLASSIFICATION_KPIS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_KPIS = ("mae", "rmse", "r2")
#: KPIs where larger is worse: a drop rule on them is an *increase* rule.
LOWER_IS_BETTER = frozenset({"mae", "rmse", "log_loss"})


@dataclass(frozen=True)
class Evaluation:
    """The KPIs of one window (or of the reference) and what they were computed on."""

    kpis: dict[str, float | None]
    labelled_rows: int
    confusion_matrix: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    per_class: dict[str, dict[str, float]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kpis": self.kpis,
            "labelled_rows": self.labelled_rows,
            "confusion_matrix": self.confusion_matrix,
            "notes": self.notes,
            "per_class": self.per_class,
        }


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def label_key(value: Any) -> str:
    """Labels compared as text so that 1, 1.0 and "1" from different sources agree."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


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
        return _regression(np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float))
    return _classification(y_true, y_pred, task, scores, positive_label)


def _regression(y_true: np.ndarray, y_pred: np.ndarray) -> Evaluation:
    kpis = {
        "mae": _finite(skm.mean_absolute_error(y_true, y_pred)),
        "rmse": _finite(math.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "r2": _finite(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else None,
    }
    return Evaluation(kpis, len(y_true))


def _classification(y_true, y_pred, task: Task, scores, positive_label) -> Evaluation:
    truth = np.array([label_key(v) for v in y_true], dtype=object)
    predicted = np.array([label_key(v) for v in y_pred], dtype=object)
    labels = sorted(set(truth) | set(predicted))
    notes: list[str] = []
    if task is Task.binary_classification:
        positive = label_key(positive_label)
        average_kwargs: dict[str, Any] = {"average": "binary", "pos_label": positive}
        if positive not in labels:
            labels.append(positive)
            labels.sort()
    else:
        average_kwargs = {"average": "macro", "labels": labels}
    kpis: dict[str, float | None] = {
        "accuracy": _finite(skm.accuracy_score(truth, predicted)),
        "precision": _finite(skm.precision_score(truth, predicted, zero_division=0, **average_kwargs)),
        "recall": _finite(skm.recall_score(truth, predicted, zero_division=0, **average_kwargs)),
        "f1": _finite(skm.f1_score(truth, predicted, zero_division=0, **average_kwargs)),
        "roc_auc": None,
        "log_loss": None,
    }
    if task is Task.binary_classification and scores is not None:
        kpis["roc_auc"], kpis["log_loss"] = _score_kpis(truth, scores, label_key(positive_label), notes)
    per_class = None
    if task is Task.multiclass_classification:
        for average in ("weighted",):
            kwargs = {"average": average, "labels": labels, "zero_division": 0}
            kpis[f"precision_{average}"] = _finite(skm.precision_score(truth, predicted, **kwargs))
            kpis[f"recall_{average}"] = _finite(skm.recall_score(truth, predicted, **kwargs))
            kpis[f"f1_{average}"] = _finite(skm.f1_score(truth, predicted, **kwargs))
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            truth, predicted, labels=labels, zero_division=0)
        per_class = {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                     for label, p, r, f, n in zip(labels, precision, recall, f1, support)}
    matrix = skm.confusion_matrix(truth, predicted, labels=labels)
    confusion = {"labels": labels, "matrix": matrix.astype(int).tolist()}
    return Evaluation(kpis, len(truth), confusion, notes, per_class)


def _score_kpis(truth: np.ndarray, scores, positive: str, notes: list[str]):
    score_array = np.array([np.nan if s is None else s for s in scores], dtype=float)
    has_score = np.isfinite(score_array)
    if not has_score.any():
        return None, None
    if not has_score.all():
        notes.append(f"{int((~has_score).sum())} labelled rows without a score left out of ROC-AUC")
    y = (truth[has_score] == positive).astype(int)
    s = score_array[has_score]
    if len(set(y)) < 2:
        notes.append("ROC-AUC needs both classes among the labelled rows")
        return None, None
    auc = _finite(skm.roc_auc_score(y, s))
    loss = _finite(skm.log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1]))
    return auc, loss
