"""Joint drift: a change in how features move together, which no per-feature test can see.

Two features can keep their marginal distributions while their correlation flips sign; every
univariate test passes and the model, which learnt the joint distribution, degrades. Two classic
remedies, both here with one result type:

- a *domain classifier* (Rabanser, Günnemann & Lipton, 2019, Failing loudly: an empirical study of
  methods for detecting dataset shift, NeurIPS): train a model to tell reference rows from window
  rows. Cross-validated ROC-AUC near 0.5 means it cannot, i.e. no drift; the higher, the more
  separable the two samples are.
- *PCA reconstruction error* (as NannyML's data reconstruction drift): compress the standardised
  reference onto the components that keep 90% of its variance and decompress; rows that break the
  reference's correlation structure reconstruct badly, so the window's mean error rises above the
  reference's.

Nearly standalone: of ``monitor.drift`` it imports only the row sampling it shares with the detect
rule (:mod:`monitor.drift.sampling`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import ThreadpoolController

from monitor.drift.sampling import sample_rows

#: Fewest rows per side for a 5-fold cross-validation to mean anything.
MIN_ROWS = 20
FOLDS = 3
#: HistGradientBoosting treats at most this many categories natively; rarer ones share a code.
MAX_CATEGORIES = 250
TOP_FEATURES = 5
#: Boosting rounds of the domain classifier; a window of at most ``SMALL_WINDOW_ROWS`` rows gets
#: ``SMALL_WINDOW_ITERATIONS`` rounds at a higher learning rate (see :func:`_classifier`).
ITERATIONS = 50
SMALL_WINDOW_ROWS = 1000
SMALL_WINDOW_ITERATIONS = 15
SMALL_WINDOW_LEARNING_RATE = 0.3

#: The thread pools of the native libraries loaded by now, scikit-learn's OpenMP among them (its
#: boosting's extension modules are imported above). Found once: ``threadpool_limits()`` looks them
#: up anew on every call (the realpath of every shared library of the process: 31 ms the first
#: time, 1.2 ms after), and the libraries a process has loaded by now do not change; a worker's
#: pool children inherit it (``workers/preload.py``).
THREADPOOLS = ThreadpoolController()


@dataclass(frozen=True)
class MultivariateDrift:
    """Verdict of a multivariate drift method on one window.

    ``statistic`` is the method's headline number (ROC-AUC for the domain classifier, the
    window/reference reconstruction-error ratio for PCA) and ``threshold`` what it is compared to.
    ``top_features`` lists ``{"feature", "importance"}`` of the features that separate the samples.
    """

    method: str
    drifted: bool
    message: str
    statistic: float | None = None
    threshold: float | None = None
    auc: float | None = None
    auc_std: float | None = None
    top_features: list[dict[str, Any]] = field(default_factory=list)
    reference_error: float | None = None
    current_error: float | None = None
    n_reference: int = 0
    n_current: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _sample(frame: pd.DataFrame, size: int, rng: np.random.Generator) -> pd.DataFrame:
    """Up to ``size`` rows; a window read column by column (``ColumnFrame``) gives them by ``take``."""
    rows = sample_rows(len(frame), size, rng)
    if isinstance(frame, pd.DataFrame):
        return frame if rows is None else frame.iloc[rows]
    return frame.take(np.arange(len(frame)) if rows is None else rows)


def _numeric_block(reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    both = pd.concat([reference[list(columns)], current[list(columns)]], ignore_index=True)
    return both.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _ordinal_codes(reference: pd.Series, current: pd.Series) -> np.ndarray:
    """Category codes shared by both sides (most frequent first); missing stays NaN."""
    both = pd.concat([reference, current], ignore_index=True)
    text = both.astype("string")
    ranked = text.value_counts().index[: MAX_CATEGORIES - 1]
    codes = pd.Series(pd.Categorical(text, categories=ranked).codes, dtype=float)
    codes[(codes < 0) & text.notna()] = MAX_CATEGORIES - 1  # the rare ones, pooled
    codes[text.isna()] = np.nan
    return codes.to_numpy()


def _domain_sample(reference, current, numeric, categorical, sample, seed):
    rng = np.random.default_rng(seed)
    ref, cur = _sample(reference, sample, rng), _sample(current, sample, rng)
    blocks = [_numeric_block(ref, cur, numeric)] if numeric else []
    blocks += [_ordinal_codes(ref[c], cur[c])[:, None] for c in categorical]
    X = np.hstack(blocks)
    y = np.r_[np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)]
    return X, y


def _importances(X: np.ndarray, y: np.ndarray, names: list[str], is_categorical: np.ndarray,
                 seed: int) -> list[dict[str, Any]]:
    """Impurity importances of a shallow tree fitted to the same reference-vs-window task.

    HistGradientBoosting exposes no importances and permutation importance costs a refit's worth
    of predictions per feature; a depth-limited tree is a cheap proxy that still sees interactions
    (a split on one feature, then on the other, is how it separates a flipped correlation).
    """
    codes = X.copy()
    codes[:, is_categorical] = np.nan_to_num(codes[:, is_categorical], nan=-1.0)
    tree = DecisionTreeClassifier(max_depth=6, min_samples_leaf=max(5, len(y) // 200), random_state=seed)
    tree.fit(codes, y)
    order = np.argsort(tree.feature_importances_)[::-1][:TOP_FEATURES]
    return [{"feature": names[i], "importance": round(float(tree.feature_importances_[i]), 4)}
            for i in order if tree.feature_importances_[i] > 0]


def _classifier(categorical_features, window_rows: int, seed: int) -> HistGradientBoostingClassifier:
    """The domain classifier, sized to the window.

    Its cost is per boosting round, not per row (each round grows one 15-leaf tree in Python), so
    a 200-row window paid as much as a 5,000-row one. A window of at most ``SMALL_WINDOW_ROWS``
    rows gets ``SMALL_WINDOW_ITERATIONS`` rounds at learning rate ``SMALL_WINDOW_LEARNING_RATE``
    (0.1 by default): a few hundred rows hold too little signal for 50 rounds of 15 leaves to
    use, and the shorter, steeper fit finds the same separations (a flipped correlation, a moved
    column) at about a third of the CPU. ``tests/unit/test_multivariate.py`` holds it to that on
    200-row windows: the same detections, and no more false alarms, as the full classifier.
    """
    small = window_rows <= SMALL_WINDOW_ROWS
    return HistGradientBoostingClassifier(categorical_features=categorical_features, early_stopping=False,
                                          max_iter=SMALL_WINDOW_ITERATIONS if small else ITERATIONS,
                                          learning_rate=SMALL_WINDOW_LEARNING_RATE if small else 0.1,
                                          max_leaf_nodes=15, random_state=seed)


def domain_classifier_drift(reference: pd.DataFrame, current: pd.DataFrame, numeric: Sequence[str],
                            categorical: Sequence[str] = (), *, sample: int = 5000, seed: int = 0,
                            threshold_auc: float = 0.6) -> MultivariateDrift:
    """Can a classifier tell window rows from reference rows? Cross-validated ROC-AUC says.

    Up to ``sample`` rows of each side are labelled 0 (reference) and 1 (window) and a
    HistGradientBoostingClassifier (missing values and ordinal-encoded categoricals handled
    natively) is scored by 5-fold stratified ROC-AUC. ``drifted`` when the mean AUC reaches
    ``threshold_auc``; ``auc_std`` is the spread across folds.

    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=500)})
    >>> win = pd.DataFrame({"x": rng.normal(size=500)})
    >>> domain_classifier_drift(ref, win, ["x"]).drifted
    False
    """
    numeric, categorical = list(numeric), list(categorical)
    names = numeric + categorical
    if not names:
        raise ValueError("domain classifier drift needs at least one numeric or categorical feature")
    missing = [c for c in names if c not in reference or c not in current]
    if missing:
        raise ValueError(f"feature(s) {missing} missing from the reference or the window")
    sizes = {"n_reference": min(len(reference), sample), "n_current": min(len(current), sample)}
    if min(sizes.values()) < MIN_ROWS:
        return MultivariateDrift("domain_classifier", False,
                                 f"joint drift not assessed: needs {MIN_ROWS} rows on each side "
                                 f"(reference {len(reference)}, window {len(current)})",
                                 threshold=threshold_auc, **sizes)
    X, y = _domain_sample(reference, current, numeric, categorical, sample, seed)
    is_categorical = np.array([False] * len(numeric) + [True] * len(categorical))
    model = _classifier(is_categorical if categorical else None, sizes["n_current"], seed)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    # A few thousand rows gain nothing from OpenMP threads; on a busy host they cost seconds.
    with THREADPOOLS.limit(limits=1, user_api="openmp"):
        scores = cross_val_score(model, X, y, cv=folds, scoring="roc_auc")
    auc, auc_std = float(np.mean(scores)), float(np.std(scores))
    top = _importances(X, y, names, is_categorical, seed)
    drifted = auc >= threshold_auc
    leaders = ", ".join(f["feature"] for f in top if f["importance"] >= 0.1) or "no single feature"
    message = (f"window rows are distinguishable from reference rows: domain-classifier ROC-AUC "
               f"{auc:.3f} ± {auc_std:.3f} (threshold {threshold_auc}); mostly through {leaders}"
               if drifted else
               f"no joint drift: domain-classifier ROC-AUC {auc:.3f} ± {auc_std:.3f} "
               f"is below {threshold_auc} (0.5 = indistinguishable)")
    return MultivariateDrift("domain_classifier", drifted, message, statistic=auc, threshold=threshold_auc,
                             auc=auc, auc_std=auc_std, top_features=top, **sizes)


class _Encoder:
    """Reference-fitted standardisation: numeric z-scores (missing -> the reference mean) and
    one-hot indicators of the reference's most frequent categories (an unseen one is all zeros)."""

    def __init__(self, reference: pd.DataFrame, numeric: list[str], categorical: list[str]):
        self.numeric, self.categorical = numeric, categorical
        values = reference[numeric].apply(pd.to_numeric, errors="coerce") if numeric else None
        self.mean = values.mean().to_numpy(dtype=float) if numeric else np.zeros(0)
        std = values.std().to_numpy(dtype=float) if numeric else np.zeros(0)
        self.std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        self.mean = np.nan_to_num(self.mean)
        self.levels = {c: reference[c].astype("string").value_counts().index[:20].tolist() for c in categorical}

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        if self.numeric:
            values = frame[self.numeric].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            scaled = (values - self.mean) / self.std
            blocks.append(np.where(np.isfinite(scaled), scaled, 0.0))
        for column, levels in self.levels.items():
            text = frame[column].astype("string")
            blocks.append(np.column_stack([(text == level).fillna(False).to_numpy(dtype=float)
                                           for level in levels]) if levels else np.zeros((len(frame), 0)))
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))


def _reconstruction_error(pca: PCA, X: np.ndarray) -> float:
    rebuilt = pca.inverse_transform(pca.transform(X))
    return float(np.mean(np.sqrt(np.sum((X - rebuilt) ** 2, axis=1))))


def pca_reconstruction_drift(reference: pd.DataFrame, current: pd.DataFrame, numeric: Sequence[str],
                             categorical: Sequence[str] = (), *, sample: int = 5000, seed: int = 0,
                             variance: float = 0.9, threshold: float = 1.2) -> MultivariateDrift:
    """Mean PCA reconstruction error of the window relative to the reference's.

    PCA is fitted on half of the (sampled, standardised) reference keeping ``variance`` of its
    variance; the reference error is measured on the other half, so that it is an honest
    out-of-sample baseline, and the window's with the same model. ``drifted`` when the ratio
    window/reference exceeds ``threshold``.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1000)
    >>> ref = pd.DataFrame({"a": x, "b": x + rng.normal(scale=0.3, size=1000)})
    >>> y = rng.normal(size=1000)
    >>> win = pd.DataFrame({"a": y, "b": -y + rng.normal(scale=0.3, size=1000)})
    >>> pca_reconstruction_drift(ref, win, ["a", "b"]).drifted
    True
    """
    numeric, categorical = list(numeric), list(categorical)
    if not numeric and not categorical:
        raise ValueError("PCA reconstruction drift needs at least one numeric or categorical feature")
    rng = np.random.default_rng(seed)
    ref, cur = _sample(reference, sample, rng), _sample(current, sample, rng)
    sizes = {"n_reference": len(ref), "n_current": len(cur)}
    if len(ref) < 2 * MIN_ROWS or len(cur) < MIN_ROWS:
        return MultivariateDrift("pca_reconstruction", False,
                                 f"reconstruction drift not assessed: needs {2 * MIN_ROWS} reference and "
                                 f"{MIN_ROWS} window rows (have {len(ref)} and {len(cur)})",
                                 threshold=threshold, **sizes)
    order = rng.permutation(len(ref))
    fit_rows, holdout_rows = ref.iloc[order[: len(ref) // 2]], ref.iloc[order[len(ref) // 2:]]
    encoder = _Encoder(fit_rows, numeric, categorical)
    pca = PCA(n_components=variance, svd_solver="full", random_state=seed).fit(encoder.transform(fit_rows))
    reference_error = _reconstruction_error(pca, encoder.transform(holdout_rows))
    current_error = _reconstruction_error(pca, encoder.transform(cur))
    ratio = current_error / reference_error if reference_error > 0 else (1.0 if current_error == 0 else math.inf)
    drifted = bool(ratio > threshold)
    message = (f"{'joint drift' if drifted else 'no joint drift'}: window reconstruction error "
               f"{current_error:.3g} is {ratio:.2f}x the reference's {reference_error:.3g} "
               f"({pca.n_components_} components keep {variance:.0%} of the reference variance; "
               f"threshold {threshold}x)")
    return MultivariateDrift("pca_reconstruction", drifted, message,
                             statistic=ratio if math.isfinite(ratio) else None, threshold=threshold,
                             reference_error=reference_error, current_error=current_error, **sizes)


#: The multivariate methods by the name a spec uses for them.
METHODS = {"domain_classifier": domain_classifier_drift, "pca_reconstruction": pca_reconstruction_drift}
