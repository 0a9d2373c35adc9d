"""Classification KPIs: binary (of the positive class) or multiclass (macro, weighted, per class),
ROC-AUC and log loss from scores, and the confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from monitor.kpis.base import Evaluation, _finite, label_key
from monitor.spec import Task


def classification_kpis(y_true, y_pred, task: Task, scores, positive_label) -> Evaluation:
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
