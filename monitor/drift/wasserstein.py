"""Wasserstein (earth mover's) distance of a numeric column, in reference standard deviations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from monitor.drift.base import DriftMethod, MethodResult, register
from monitor.drift.reference import NumericReference, SortedWindow, sorted_window


def wasserstein_distance(reference: np.ndarray, window: np.ndarray | SortedWindow) -> float:
    """``scipy.stats.wasserstein_distance`` of two *sorted* samples, without re-sorting the reference.

    The distance is the area between the two empirical CDFs. scipy sorts the pooled values; here
    the window is merged into the sorted reference at its ``searchsorted`` positions (linear: a
    window value goes after the reference values equal to it, as in a stable sort), and each CDF
    at a pooled value is a running count of that side's values. A :class:`SortedWindow` brings
    the ranks KS already computed (and lets them go here: no method needs them after this one).
    """
    prepared = sorted_window(window)
    window = prepared.values
    n1, n2 = reference.size, window.size
    ranks = prepared.ranks(reference, keep=False)
    slots = np.arange(n2, dtype=ranks.dtype)
    slots += ranks  # window's places when pooled
    del ranks, prepared
    is_window = np.zeros(n1 + n2, dtype=bool)
    is_window[slots] = True
    pooled = np.empty(n1 + n2, dtype=np.float64)
    pooled[slots] = window
    del slots
    pooled[~is_window] = reference
    below_window = np.cumsum(is_window[:-1], dtype=np.int32 if n1 + n2 < 2**31 else np.int64)
    del is_window
    below_reference = np.arange(1, n1 + n2, dtype=below_window.dtype)
    below_reference -= below_window
    # |below_reference / n1 - below_window / n2| * diff(pooled): the same float operations, in place
    gap = below_reference / n1
    del below_reference
    gap -= below_window / n2
    np.abs(gap, out=gap)
    gap *= np.diff(pooled)
    return float(gap.sum())  # not ``@``: a BLAS dot spawns threads, slower than this on a busy host


@register
class Wasserstein(DriftMethod):
    """Wasserstein-1 distance divided by the reference's standard deviation (``ddof=1``).

    How far, on average, the window's values would have to move to look like the reference: an
    effect size in the column's own units. Dividing by the reference standard deviation (of the
    full column, not of a subsample) makes one threshold fit every feature: 0.1 means "a tenth of
    the usual spread", and a shift of the mean by ``k`` standard deviations gives about ``k``.
    A constant reference (standard deviation 0) gives 0 when the window equals it and infinity
    otherwise. Equals ``scipy.stats.wasserstein_distance(reference, window) / reference_std``.

    Examples
    --------
    >>> from monitor.drift.reference import NumericReference
    >>> rng = np.random.default_rng(0)
    >>> reference = NumericReference.from_values("x", rng.normal(50, 10, 5000))
    >>> round(Wasserstein().compare(reference, rng.normal(55, 10, 2000)).statistic, 1)
    0.5

    References
    ----------
    Ramdas, Garcia Trillos & Cuturi (2017). On Wasserstein two-sample testing and related families
    of nonparametric tests. Entropy 19(2), 47. scipy.stats.wasserstein_distance.
    """

    name = "wasserstein"
    kind = "numeric"
    role = "effect"
    label = "normalised Wasserstein"

    def compare(self, reference_column: NumericReference, current_values: Any) -> MethodResult:
        reference, window = reference_column.values, sorted_window(current_values)
        if reference.size == 0 or window.size == 0:
            raise ValueError(f"wasserstein: column {reference_column.name!r} needs at least one value on "
                             "each side")
        distance = wasserstein_distance(reference, window)
        scale = reference_column.std
        if not scale > 0:  # constant reference (or a single value)
            return MethodResult(0.0 if distance == 0 else math.inf)
        return MethodResult(distance / scale)
