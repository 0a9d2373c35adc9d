"""A change in spread: the score or a feature became more (or less) variable than in the reference.

Mean-and-shape tests (KS, PSI) answer slowly to a pure change of variance, yet a score that spreads
out (a model getting less sure) or collapses (a stuck upstream feed) is one of the first signs of
trouble. The Brown-Forsythe test is Levene's test centred on the median: robust to the heavy tails
and skew that KPI scores and business features have, where the classic F test of variances is not
(Brown & Forsythe, 1974, Robust tests for the equality of variances, JASA 69(346), 364-367).
A p-value alone would flag negligible changes on large windows, so a change also needs a variance
ratio of at least ``min_ratio`` (or at most its inverse).

Standalone on purpose: it imports nothing from ``monitor.drift``'s package.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats  # noqa: F401 - stats: the doctest's reference


@dataclass(frozen=True)
class VarianceChange:
    """Whether a window's spread differs from the reference's, and by how much."""

    test: str
    statistic: float | None
    p_value: float | None
    variance_ratio: float | None
    drifted: bool
    message: str
    n_reference: int = 0
    n_current: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: a ratio of infinity (constant reference) becomes ``None``."""
        return {key: (None if isinstance(value, float) and not math.isfinite(value) else value)
                for key, value in asdict(self).items()}


def _finite(values: Iterable[float] | np.ndarray | pd.Series) -> np.ndarray:
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).ravel())
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        series = pd.to_numeric(series, errors="coerce")
    array = series.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(array)
    return array if finite.all() else array[finite]  # read only: no copy when nothing is left out


def _ratio(reference: np.ndarray, current: np.ndarray) -> float:
    ref_var = float(np.var(reference, ddof=1))
    cur_var = float(np.var(current, ddof=1))
    if ref_var == 0.0:
        return 1.0 if cur_var == 0.0 else math.inf
    return cur_var / ref_var


def brown_forsythe(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.levene(reference, current, center="median")``'s statistic and p-value for two
    finite float64 samples, in scipy's own float operations, without its per-call overhead
    (array-API dispatch and NaN policy, which on a 200-row window cost more than the test).

    Each value's distance to its sample's median; the statistic is the one-way ANOVA F of those
    distances, its p-value ``scipy.special.fdtrc(1, n - 2, F)`` (scipy's F survival function).

    >>> rng = np.random.default_rng(1)
    >>> a, b = rng.normal(0, 1, 300), rng.normal(0, 1.5, 200)
    >>> brown_forsythe(a, b) == tuple(float(v) for v in stats.levene(a, b, center="median"))
    True
    """
    samples = (reference, current)
    sizes = [sample.shape[-1] for sample in samples]
    total = sum(sizes)
    means, squares = [], []
    for sample in samples:  # the same operations as scipy's, in place (one temporary per sample)
        distance = sample - np.median(sample, axis=-1, keepdims=True)
        np.abs(distance, out=distance)
        means.append(np.mean(distance, axis=-1, keepdims=True))
        distance -= means[-1]
        np.square(distance, out=distance)
        squares.append(np.sum(distance, axis=-1, keepdims=True))
        del distance
    grand = sum(n * zbar for n, zbar in zip(sizes, means)) / total
    dfd, dfn = total - 2, 1.0
    numer = dfd * sum(n * (zbar - grand) ** 2 for n, zbar in zip(sizes, means))
    denom = dfn * sum(squares)
    statistic = (numer / denom)[0]
    return float(statistic), float(special.fdtrc(dfn, float(dfd), statistic))


def variance_change(reference_values, current_values, *, p_value: float = 0.01,
                    min_ratio: float = 1.5) -> VarianceChange:
    """Brown-Forsythe test (``scipy.stats.levene(center="median")``) of window vs reference spread.

    Missing and non-numeric values are left out. ``drifted`` needs both a p-value below
    ``p_value`` and a window/reference variance ratio of at least ``min_ratio`` or at most
    ``1 / min_ratio``.

    >>> rng = np.random.default_rng(0)
    >>> result = variance_change(rng.normal(0, 1, 2000), rng.normal(0, 2, 2000))
    >>> result.drifted, round(result.variance_ratio, 1)
    (True, 4.0)
    """
    if min_ratio < 1:
        raise ValueError(f"min_ratio is a factor of at least 1 (window/reference variance), got {min_ratio}")
    reference, current = _finite(reference_values), _finite(current_values)
    sizes = {"n_reference": len(reference), "n_current": len(current)}
    if len(reference) < 2 or len(current) < 2:
        return VarianceChange("brown_forsythe", None, None, None, False,
                              f"variance not compared: needs at least 2 values on each side "
                              f"(reference {len(reference)}, window {len(current)})", **sizes)
    ratio = _ratio(reference, current)
    if np.ptp(reference) == 0 and np.ptp(current) == 0:
        # Levene's statistic is 0/0 here; two constant samples have the same (zero) spread.
        return VarianceChange("brown_forsythe", 0.0, 1.0, ratio, False,
                              "both reference and window are constant", **sizes)
    statistic, p = brown_forsythe(reference, current)
    large = ratio >= min_ratio or ratio <= 1 / min_ratio
    drifted = bool(p < p_value and large)
    direction = "more" if ratio > 1 else "less"
    if drifted:
        message = (f"the window is {direction} variable than the reference: variance ratio {ratio:.2f} "
                   f"(p = {p:.2g}, Brown-Forsythe)")
    elif p < p_value:
        message = (f"variance differs significantly (p = {p:.2g}) but the ratio {ratio:.2f} is within "
                   f"the {1 / min_ratio:.2f}-{min_ratio:.2f} band that matters")
    else:
        message = f"no significant change in variance (ratio {ratio:.2f}, p = {p:.2g})"
    return VarianceChange("brown_forsythe", statistic, p, ratio, drifted, message, **sizes)


def variance_changes(reference: pd.DataFrame, window: pd.DataFrame, columns: Iterable[str], *,
                     p_value: float = 0.01, min_ratio: float = 1.5) -> dict[str, VarianceChange]:
    """:func:`variance_change` for each of ``columns`` (the model score and the numeric features).

    A column absent from either side is skipped: schema problems are :mod:`monitor.quality`'s.
    """
    return {
        column: variance_change(reference[column], window[column], p_value=p_value, min_ratio=min_ratio)
        for column in columns
        if column in reference and column in window
    }
