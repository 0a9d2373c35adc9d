"""Classification KPIs: binary (of the positive class) or multiclass (macro, weighted, per class),
ROC-AUC and log loss from scores, and the confusion matrix.

Rows are encoded once (:mod:`monitor.kpis.labels`) and every count KPI comes from one confusion
matrix (``np.bincount``), with scikit-learn's formulas and ``zero_division=0`` (the unit tests
compare every value with scikit-learn's on random and edge-case inputs). ROC-AUC and log loss are
numpy too (Mann-Whitney with average ranks, which is scikit-learn's trapezoid AUC; the mean
binary cross-entropy): scikit-learn's input validation cost a 1M-row check about a second, and
importing it costs every worker about 20 MB (the unit tests hold the values to scikit-learn's
within 1e-12). The ranks are :func:`midranks`: scipy's ``rankdata`` without its dispatch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.kpis.base import Evaluation, _finite, label_key
from monitor.kpis.labels import encode_pair
from monitor.spec import Task


def classification_kpis(y_true, y_pred, task: Task, scores, positive_label) -> Evaluation:
    positive = label_key(positive_label) if task is Task.binary_classification else None
    truth, predicted, labels = encode_pair(y_true, y_pred, extra=[positive] if positive is not None else [])
    return coded_kpis(truth, predicted, labels, task, scores, positive)


def coded_kpis(truth: np.ndarray, predicted: np.ndarray, labels: list[str], task: Task, scores,
               positive: str | None) -> Evaluation:
    """KPIs of rows already encoded on ``labels`` (codes may leave some labels unused: those are
    dropped, as scikit-learn only sees the labels present; an absent positive class is kept)."""
    k = len(labels)
    matrix = np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)
    used = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    if positive is not None and positive in labels:
        used[labels.index(positive)] = True
    if not used.all():
        keep = np.flatnonzero(used)
        matrix, labels = matrix[np.ix_(keep, keep)], [labels[i] for i in keep]
        remap = np.full(k, -1, dtype=np.intp)
        remap[keep] = np.arange(len(keep))
        truth = remap[truth]
    present = [label for label, row, column in zip(labels, matrix.sum(axis=1), matrix.sum(axis=0))
               if row or column]
    tp = np.diag(matrix)
    pred_sum, true_sum = matrix.sum(axis=0), matrix.sum(axis=1)
    precision, recall, f1 = _divide(tp, pred_sum), _divide(tp, true_sum), \
        _divide(2.0 * tp.astype(float), true_sum.astype(float) + pred_sum.astype(float))
    notes: list[str] = []
    kpis: dict[str, float | None] = {"accuracy": _finite(tp.sum() / len(truth))}
    if task is Task.binary_classification:
        if len(present) > 2:
            raise ValueError("Target is multiclass but average='binary'. Please choose another average setting, "
                             "one of [None, 'micro', 'macro', 'weighted'].")
        if positive not in present and len(present) >= 2:
            raise ValueError(f"pos_label={positive} is not a valid label. It should be one of {present}")
        i = labels.index(positive)
        kpis.update(precision=_finite(precision[i]), recall=_finite(recall[i]), f1=_finite(f1[i]),
                    roc_auc=None, log_loss=None)
        if scores is not None:
            kpis["roc_auc"], kpis["log_loss"] = _score_kpis(truth == i, scores, notes)
    else:
        kpis.update(precision=_finite(np.nanmean(precision)), recall=_finite(np.nanmean(recall)),
                    f1=_finite(np.nanmean(f1)), roc_auc=None, log_loss=None)
    per_class = None
    if task is Task.multiclass_classification:
        kpis["precision_weighted"] = _finite(np.average(precision, weights=true_sum))
        kpis["recall_weighted"] = _finite(np.average(recall, weights=true_sum))
        kpis["f1_weighted"] = _finite(np.average(f1, weights=true_sum))
        per_class = {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                     for label, p, r, f, n in zip(labels, precision, recall, f1, true_sum)}
    confusion = {"labels": labels, "matrix": matrix.astype(int).tolist()}
    return Evaluation(kpis, len(truth), confusion, notes, per_class)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _score_kpis(is_positive: np.ndarray, scores, notes: list[str]):
    score_array = np.asarray(scores, dtype=float)
    has_score = np.isfinite(score_array)
    if not has_score.any():
        return None, None
    if has_score.all():  # the usual case: no row-sized copies (a 1M-row window's KPI pass)
        y, s = is_positive, score_array
    else:
        notes.append(f"{int((~has_score).sum())} labelled rows without a score left out of ROC-AUC")
        y, s = is_positive[has_score], score_array[has_score]
    del has_score
    if y.min() == y.max():
        notes.append("ROC-AUC needs both classes among the labelled rows")
        return None, None
    return _finite(roc_auc(y, s)), _finite(log_loss(y, np.clip(s, 1e-15, 1 - 1e-15)))


def roc_auc(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney U of the positives' average ranks over both classes' counts:
    the area under the trapezoid ROC curve, ties counting half (scikit-learn's ``roc_auc_score``).

    >>> float(roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])))
    0.75
    """
    positive = is_positive.astype(bool)
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    ranks = midranks(np.asarray(scores, dtype=float))  # average ranks of ties
    u = float(ranks[positive].sum()) - n_positive * (n_positive + 1) / 2.0
    return u / (n_positive * n_negative)


def midranks(values: np.ndarray) -> np.ndarray:
    """Average ranks of finite ``values`` (1-based; tied values share the mean of their ranks), as
    ``scipy.stats.rankdata(values)`` computes them (stable sort, then the first rank of each run of
    ties plus half its length), without scipy's per-call dispatch: about 0.1 ms of a small window's
    KPIs and again of its CBPE estimate. Every rank is a multiple of 1/2, so the values are exact.

    >>> midranks(np.array([0.3, 0.1, 0.3, 0.2])).tolist()
    [3.5, 1.0, 3.5, 2.0]
    """
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # where each run of ties starts
    del ordered
    counts = np.diff(np.r_[starts, n])
    ranks = np.empty(n, dtype=float)
    ranks[order] = np.repeat(starts + 1 + (counts - 1) / 2, counts)
    return ranks


def log_loss(is_positive: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean binary cross-entropy of the positive class's probabilities (already clipped away from
    0 and 1), as scikit-learn's ``log_loss(..., labels=[0, 1])`` computes it.

    >>> round(float(log_loss(np.array([1, 0]), np.array([0.9, 0.2]))), 6)
    0.164252
    """
    positive = is_positive.astype(bool)
    return float(-np.mean(np.where(positive, np.log(probabilities), np.log(1.0 - probabilities))))
