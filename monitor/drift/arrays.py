"""Array kernels of per-feature drift: a column as floats, its finite values sorted, ranks of
sorted values in a sorted reference, quantiles read off sorted values, and :class:`SortedWindow`,
a window column prepared once for every numeric method. Shared by the cached reference
(:mod:`monitor.drift.reference`, which re-exports them) and the methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def as_float(values: Any) -> np.ndarray:
    """The values as a 1-D float64 array; missing and non-numeric values become NaN.

    A float64 array is returned as is (no copy), numeric arrays are cast, anything else goes
    through ``pandas.to_numeric(errors="coerce")``.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False).ravel()
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object).ravel())
    if not pd.api.types.is_numeric_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def sorted_ranks(reference: np.ndarray, keys: np.ndarray, side: str) -> np.ndarray:
    """``np.searchsorted(reference, keys, side)`` for *sorted* ``keys``, searching whichever of
    the two arrays is shorter in the longer one.

    A 1M-row window searched value by value in a 200k-value reference costs a million binary
    searches; the same counts come from the reference's 200k positions among the window's values
    (``r <= k_i`` exactly when ``r``'s left position among the keys is at most ``i``), a
    ``bincount`` and a running sum. Integer counts either way, so every statistic is unchanged.

    >>> reference, keys = np.array([1.0, 2.0, 2.0, 5.0]), np.array([0.0, 2.0, 2.0, 3.0, 9.0, 9.0])
    >>> sorted_ranks(reference, keys, "right").tolist(), np.searchsorted(reference, keys, "right").tolist()
    ([0, 3, 3, 3, 4, 4], [0, 3, 3, 3, 4, 4])
    """
    if len(reference) >= len(keys):
        return np.searchsorted(reference, keys, side=side)
    positions = np.searchsorted(keys, reference, side="left" if side == "right" else "right")
    return np.cumsum(np.bincount(positions, minlength=len(keys) + 1)[: len(keys)])


class SortedWindow:
    """A window column's finite values, sorted (``values``), prepared once for every numeric method.

    KS and Wasserstein both start from the window's ranks in the reference's sorted values
    (``sorted_ranks(reference, values, "right")``: both statistics are functions of the two
    ECDFs); :meth:`ranks` computes them once per reference and hands the same read-only array to
    both. :func:`finite_sorted` of one returns ``values`` without checking their order again.

    >>> window = SortedWindow(np.array([1.0, 2.0, 4.0]))
    >>> reference = np.array([0.0, 2.0, 3.0])
    >>> window.ranks(reference).tolist(), window.ranks(reference) is window.ranks(reference)
    ([1, 2, 3], True)
    """

    __slots__ = ("values", "_reference", "_ranks")

    def __init__(self, values: np.ndarray):
        self.values = values
        self._reference: np.ndarray | None = None
        self._ranks: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.values.size)

    def ranks(self, reference: np.ndarray, *, keep: bool = True) -> np.ndarray:
        """``sorted_ranks(reference, values, "right")``, computed once per ``reference`` (read-only).

        ``keep=False`` hands the ranks over and forgets them: the caller that needs them last
        lets their memory go as soon as it is done (a 1M-value window's ranks are 8 MB).
        """
        if self._reference is not reference or self._ranks is None:
            ranks = sorted_ranks(reference, self.values, "right")
            ranks.flags.writeable = False
            self._reference, self._ranks = reference, ranks
        ranks = self._ranks
        if not keep:
            self._reference = self._ranks = None
        return ranks


def sorted_window(values: Any) -> SortedWindow:
    """``values`` prepared for the numeric methods: a :class:`SortedWindow` passes through."""
    return values if isinstance(values, SortedWindow) else SortedWindow(finite_sorted(values))


def finite_sorted(values: Any) -> np.ndarray:
    """The finite values, sorted, as float64; a sorted finite float64 array is returned untouched.

    That check costs two vectorised passes, far less than a sort, so a caller that prepared a
    window's column once can hand the result to every numeric method (a :class:`SortedWindow`
    skips even the check).
    """
    if isinstance(values, SortedWindow):
        return values.values
    array = as_float(values)
    finite = np.isfinite(array)
    if finite.all():
        if array.size < 2 or not (array[1:] < array[:-1]).any():
            return array
        return np.sort(array)
    kept = array[finite]
    kept.sort()
    return kept


def sorted_quantiles(sorted_values: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """``np.quantile(sorted_values, quantiles)`` (numpy's default, linear interpolation) of sorted
    finite values, without the copy and partition numpy makes to find the order statistics: the
    values are in place already, and the interpolation is numpy's own arithmetic, step by step.

    >>> values = np.sort(np.random.default_rng(0).normal(size=1001))
    >>> (sorted_quantiles(values, (0.05, 0.5, 0.95)) == np.quantile(values, (0.05, 0.5, 0.95))).all()
    np.True_
    """
    count = sorted_values.shape[0]
    virtual = (count - 1) * np.asanyarray(quantiles, dtype=np.float64)
    previous = np.floor(virtual)
    following = previous + 1
    last = virtual >= count - 1  # at or past the last value: the last value
    previous[last] = following[last] = -1
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    low, high = sorted_values[previous], sorted_values[following]
    weight = np.asanyarray(virtual - previous, dtype=virtual.dtype)
    step = high - low
    result = np.add(low, step * weight)
    np.subtract(high, step * (1 - weight), out=result, where=weight >= 0.5, casting="unsafe")
    return result
