"""Performance of a binary classifier while its labels have not arrived yet.

Labels often come days or weeks after the predictions; the KPIs of the last window would stay
unknown until then. Confidence-based performance estimation (CBPE, NannyML:
https://nannyml.readthedocs.io/en/stable/how_it_works/performance_estimation.html) reads them from
the scores instead: once scores are calibrated on the labelled reference, the score ``p_i`` of a
row is the probability that its label is positive, so every confusion-matrix cell has an expected
value and so does every KPI. This holds under covariate shift (the inputs, hence the scores, move;
``P(y | score)`` does not), which is the drift monitoring worries about most; it cannot see concept
drift, where ``P(y | score)`` itself changes.

The band around each estimate is a parametric bootstrap: labels are drawn ``y_i ~ Bernoulli(p_i)``
many times and the KPIs recomputed, so the band is the range the realised KPI should fall in once
the labels arrive.

Why this is written here rather than taken from NannyML: a check needs the estimate inside one
Celery task, per window, from a calibration fitted once per model version and stored with its
reference profile. NannyML's estimator is fitted and run on its own chunked DataFrames with its
own result and plotting objects; depending on it would put a large dependency tree into the core
install (the one a notebook user gets) for what is a few dozen lines of arithmetic on top of
scikit-learn's isotonic regression. The method is NannyML's (linked above); the unit tests check
the estimates against the realised KPIs on simulated labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.kpis.classification import midranks

KPIS = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: Bootstrap draws per chunk: at least CHUNK, more while a chunk stays within CELLS draws x rows
#: (bounds memory at about 9 bytes a cell). A small window's 200 draws then take one pass, not four:
#: the same random numbers in the same order (a Generator fills arrays in C order), the same KPIs.
CHUNK = 50
CELLS = 100_000
#: From this many scored rows on, the bootstrap draws the sums it needs from their normal limit.
NORMAL_FROM = 50_000


def _positive_mask(labels: Sequence[Any] | np.ndarray, positive_label: Any) -> np.ndarray:
    """Labels compared as text so that 1, 1.0, True and "1" agree (as :mod:`monitor.kpis` does);
    each distinct value is keyed once, not each row."""
    def key(value: Any) -> str:
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        return str(value)
    array = np.asarray(labels)
    target = key(positive_label)
    if array.dtype.kind == "b":  # already a mask: True keys as "1", False as "0"
        return array.copy() if target == "1" else ~array if target == "0" else np.zeros(len(array), dtype=bool)
    if array.dtype.kind not in "biuf":
        array = array.astype(object)
    if not len(array):
        return np.zeros(0, dtype=bool)
    inverse, uniques = pd.factorize(pd.Series(array), use_na_sentinel=False)
    # factorize merges 1, 1.0 and True (equal in Python); they agree under ``key`` too (True -> 1)
    return np.array([key(v) == target for v in uniques], dtype=bool)[inverse]


class Calibrator:
    """Isotonic calibration of raw scores on the labelled reference, clipped to the reference range.

    Isotonic regression is monotone, so it keeps the model's ranking (and its ROC-AUC) while
    turning scores into probabilities, and it assumes no shape the way Platt scaling does. Scores
    outside the reference's range take the calibrated value of its nearest end. The fitted map is
    two short lists, so it lives in the reference profile as JSON (:meth:`to_json`).

    >>> calibrator = Calibrator().fit([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    >>> calibrator.transform([0.15, 0.85, 5.0]).tolist()
    [0.0, 1.0, 1.0]
    """

    def __init__(self, thresholds: Sequence[float] = (), values: Sequence[float] = ()):
        self.thresholds = np.asarray(thresholds, dtype=float)
        self.values = np.asarray(values, dtype=float)

    def fit(self, reference_scores, reference_labels, *, positive_label: Any = 1) -> "Calibrator":
        """Fit on the reference's scores and labels (rows with a missing score are left out)."""
        scores = np.asarray(reference_scores, dtype=float)
        positive = _positive_mask(reference_labels, positive_label)
        if len(scores) != len(positive):
            raise ValueError(f"{len(scores)} scores but {len(positive)} labels")
        keep = np.isfinite(scores)
        if keep.sum() < 2 or positive[keep].all() or not positive[keep].any():
            raise ValueError("calibration needs scored reference rows of both classes")
        from sklearn.isotonic import IsotonicRegression  # only when a calibration is fitted

        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        isotonic.fit(scores[keep], positive[keep].astype(float))
        self.thresholds, self.values = isotonic.X_thresholds_, isotonic.y_thresholds_
        return self

    def transform(self, scores) -> np.ndarray:
        """Calibrated probabilities (linear between the fitted steps, as IsotonicRegression predicts)."""
        if not len(self.thresholds):
            raise ValueError("the calibrator is not fitted; call fit(reference_scores, reference_labels)")
        return np.clip(np.interp(np.asarray(scores, dtype=float), self.thresholds, self.values), 0.0, 1.0)

    def to_json(self) -> dict[str, list[float]]:
        return {"thresholds": self.thresholds.tolist(), "values": self.values.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, list[float]]) -> "Calibrator":
        return cls(data["thresholds"], data["values"])


@dataclass(frozen=True)
class Estimate:
    """Estimated KPIs of a window without labels, with a band the realised KPIs should fall in."""

    kpis: dict[str, float | None]
    lower: dict[str, float | None]
    upper: dict[str, float | None]
    n: int
    confidence: float = 0.95

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(numerator, denominator):
    """Elementwise numerator / denominator, 0 where the denominator is 0 (sklearn's zero_division=0)."""
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    return np.divide(numerator, denominator, out=np.zeros(np.broadcast(numerator, denominator).shape),
                     where=denominator > 0)


def _kpis(tp, fp, fn, tn, auc) -> dict[str, np.ndarray]:
    """KPIs from (expected or sampled) confusion-matrix cells; arrays in, arrays out."""
    n = tp + fp + fn + tn
    return {"accuracy": _ratio(tp + tn, n), "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn), "roc_auc": np.asarray(auc, dtype=float)}


def _expected_auc(ranks: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC of the expected ROC curve: expected TPR against expected FPR over all thresholds.

    Equivalent to the Mann-Whitney form with every row counted as a positive of weight p_i and a
    negative of weight 1 - p_i (ties count half), i.e. sklearn's ``roc_auc_score`` on the rows
    duplicated with those sample weights.
    """
    positives, negatives = p.sum(), (1 - p).sum()
    if positives <= 0 or negatives <= 0:
        return math.nan
    # Sum over pairs (i positive, j negative) of [r_i > r_j] + [r_i == r_j] / 2, with r midranks:
    # for each i, the weight of negatives ranked below it is a cumulative sum over sorted ranks.
    # Each row-sized array is dropped as soon as it is used and the rest is computed in place
    # (a 1M-row window: 69 -> 35 MB at the peak), with the same float operations as
    # ``(pos_per_rank * (cumsum(neg) - neg + neg / 2)).sum()``.
    order = np.argsort(ranks, kind="stable")
    r = ranks[order]
    start = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])  # r is sorted: where each distinct rank starts
    del r
    weights = p[order]
    del order
    pos_per_rank = np.add.reduceat(weights, start)
    np.subtract(1, weights, out=weights)  # the negatives' weights, 1 - p
    neg_per_rank = np.add.reduceat(weights, start)
    del weights, start
    below = np.cumsum(neg_per_rank)
    below -= neg_per_rank
    neg_per_rank /= 2
    below += neg_per_rank
    below *= pos_per_rank
    return float(below.sum() / (positives * negatives))


def _bootstrap(p: np.ndarray, predicted: np.ndarray, ranks: np.ndarray, draws: int,
               rng: np.random.Generator) -> dict[str, np.ndarray]:
    """KPIs of ``draws`` label vectors drawn from Bernoulli(p); vectorised, chunked for memory."""
    n = len(p)
    if n >= NORMAL_FROM:
        return _normal_bootstrap(p, predicted, ranks, draws, rng)
    results: dict[str, list[np.ndarray]] = {name: [] for name in KPIS}
    chunk = max(CHUNK, CELLS // max(n, 1))
    for size in [chunk] * (draws // chunk) + ([draws % chunk] if draws % chunk else []):
        labels = rng.random((size, n)) < p
        positives = labels.sum(axis=1)
        tp = labels[:, predicted].sum(axis=1)
        fp = predicted.sum() - tp
        fn = positives - tp
        tn = n - tp - fp - fn
        negatives = n - positives
        # Mann-Whitney: (sum of positives' midranks - P(P+1)/2) / (P N), undefined with one class.
        rank_sum = labels.astype(float) @ ranks
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = np.where((positives > 0) & (negatives > 0),
                           (rank_sum - positives * (positives + 1) / 2) / (positives * negatives), np.nan)
        for name, values in _kpis(tp, fp, fn, tn, auc).items():
            results[name].append(values)
    return {name: np.concatenate(chunks) for name, chunks in results.items()}


def _normal_bootstrap(p: np.ndarray, predicted: np.ndarray, ranks: np.ndarray, draws: int,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """:func:`_bootstrap` for a large window, without a draws x rows matrix.

    Every KPI of a draw depends on the labels only through three sums of independent Bernoulli
    terms: positives among predicted positives, positives among predicted negatives, and the
    positives' rank sum. Over tens of thousands of rows their joint law is the normal one with
    the same means and covariances (central limit theorem); drawing those three numbers per draw
    costs O(rows) once instead of O(draws x rows) random numbers and a 400 MB matrix per chunk.
    """
    n = len(p)
    variance = p * (1 - p)
    means, covariance = np.zeros(3), np.zeros((3, 3))
    for i, rows in enumerate((predicted, ~predicted)):
        means[i] = p[rows].sum()
        covariance[i, i] = variance[rows].sum()
        covariance[i, 2] = covariance[2, i] = (variance[rows] * ranks[rows]).sum()
    means[2] = (p * ranks).sum()
    covariance[2, 2] = (variance * ranks * ranks).sum()
    sums = rng.multivariate_normal(means, covariance, size=draws, method="eigh")
    tp = np.clip(sums[:, 0], 0, predicted.sum())
    positives = np.clip(tp + sums[:, 1], tp, n - predicted.sum() + tp)
    fp = predicted.sum() - tp
    fn = positives - tp
    tn = n - tp - fp - fn
    negatives = n - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.where((positives > 0) & (negatives > 0),
                       (sums[:, 2] - positives * (positives + 1) / 2) / (positives * negatives), np.nan)
    return _kpis(tp, fp, fn, tn, np.clip(auc, 0.0, 1.0))


def _clean(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def estimate(scores, *, calibrator: Calibrator | None = None, threshold: float = 0.5, predictions=None,
             positive_label: Any = 1, draws: int = 200, confidence: float = 0.95, seed: int = 0) -> Estimate:
    """Expected accuracy, precision, recall, F1 and ROC-AUC of unlabelled scored rows.

    ``scores`` are raw model scores when a ``calibrator`` is given (they are calibrated here) and
    calibrated probabilities otherwise. The predicted class is ``predictions == positive_label``
    when predictions are given, else ``scores >= threshold`` on the raw scores (the model's own
    decision rule). With ``p_i`` the calibrated probabilities, E[TP] sums ``p_i`` over predicted
    positives, E[FP] sums ``1 - p_i`` over them, E[FN] and E[TN] likewise over predicted
    negatives; the KPIs are taken from these expected cells. Rows without a score are left out.

    >>> result = estimate([0.9, 0.8, 0.3, 0.1])
    >>> round(result.kpis["accuracy"], 3), round(result.kpis["precision"], 3)
    (0.825, 0.85)
    """
    raw = np.asarray(scores, dtype=float)
    keep = np.isfinite(raw)
    if predictions is not None:
        if len(predictions) != len(raw):
            raise ValueError(f"{len(raw)} scores but {len(predictions)} predictions")
        predicted = _positive_mask(predictions, positive_label)[keep]
    else:
        predicted = raw[keep] >= threshold
    if not keep.all():  # no copy of a large window's scores when every row has one
        raw = raw[keep]
    del keep
    n = len(raw)
    if n == 0:
        empty = {name: None for name in KPIS}
        return Estimate(empty, dict(empty), dict(empty), 0, confidence)
    ranks = midranks(raw)  # before ``p``: the ranking's own arrays are the largest transient here
    p = calibrator.transform(raw) if calibrator is not None else np.clip(raw, 0.0, 1.0)
    expected = _kpis(p[predicted].sum(), (1 - p[predicted]).sum(), p[~predicted].sum(), (1 - p[~predicted]).sum(),
                     _expected_auc(ranks, p))
    sampled = _bootstrap(p, predicted, ranks, draws, np.random.default_rng(seed))
    tail = (1 - confidence) / 2 * 100
    lower, upper = {}, {}
    every = np.stack([sampled[name] for name in KPIS])
    if np.isfinite(every).all():  # the usual case: all five bands in one call (each row's as alone)
        bands = dict(zip(KPIS, np.percentile(every, [tail, 100 - tail], axis=1).T))
    else:
        bands = {name: np.percentile(values, [tail, 100 - tail]) if len(values) else (math.nan, math.nan)
                 for name, values in ((name, sampled[name][np.isfinite(sampled[name])]) for name in KPIS)}
    del every
    for name in KPIS:
        low, high = bands[name]
        lower[name], upper[name] = _clean(low), _clean(high)
    return Estimate({name: _clean(float(value)) for name, value in expected.items()}, lower, upper, n, confidence)
