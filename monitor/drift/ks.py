"""Two-sample Kolmogorov-Smirnov test of a numeric column, from the pre-sorted reference.

The statistic is computed here from the sorted samples; the p-value is scipy's own: for samples
of at most 10,000 values ``ks_2samp``'s exact distribution (scipy's ``_attempt_exact_2kssamp``,
the function ``ks_2samp(method="auto")`` calls, without the per-call overhead of ``ks_2samp``'s
input handling, which on a 200-row window cost more than the test), above that the Kolmogorov
distribution ``scipy.stats.kstwo``. Should a scipy upgrade move or change that private helper,
the test falls back to the public ``ks_2samp`` on the same values (same numbers, slower);
tests/unit/test_drift.py checks both paths against ``ks_2samp``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from monitor.drift.base import DriftMethod, MethodResult, register
from monitor.drift.reference import NumericReference, SortedWindow, sorted_ranks, sorted_window

#: scipy's helper for the exact p-value ks_2samp(method="auto") computes (see the module docstring),
#: looked up on the first test (:func:`_exact_helper`): importing monitor.drift, as ``modelwatch
#: apply`` does to profile a reference, must not import scipy.stats (about 0.5 CPU-s). None when
#: the installed scipy has no such helper.
_attempt_exact_2kssamp: Any = ...

#: ``ks_2samp(method="auto")`` is exact when both samples have at most this many values.
MAX_AUTO_N = 10000


def ks_statistic(reference: np.ndarray, window: np.ndarray,
                 ranks: np.ndarray | None = None) -> tuple[float, float]:
    """``(D+, D-)``: the largest excess of the reference's ECDF over the window's, and the reverse.

    Both inputs are sorted and finite. scipy evaluates the ECDF difference at all ``n1 + n2``
    pooled values after sorting both samples; the extremes can only sit at the window's distinct
    values (the window's ECDF is constant between them, the reference's is monotone), so two
    binary searches of those values in the already sorted reference give the same two numbers,
    computed with the same ``count / n`` arithmetic, without touching the reference's order.
    ``ranks``, if given, are ``sorted_ranks(reference, window, "right")`` computed beforehand
    (:meth:`SortedWindow.ranks`, shared with Wasserstein).
    """
    n1, n2 = reference.size, window.size
    first = np.empty(n2, dtype=bool)
    first[0] = True
    np.not_equal(window[1:], window[:-1], out=first[1:])
    if first.all():  # every value distinct (the usual numeric column): no gathers, no index arrays
        distinct, starts = window, None
    else:
        starts = np.flatnonzero(first)  # window values below each distinct value
        distinct = window[starts]
    del first
    if ranks is None:
        upto = sorted_ranks(reference, distinct, "right")  # reference values at or below
    else:
        upto = ranks if starts is None else ranks[starts]
    below = np.subtract(upto, 1)
    np.maximum(below, 0, out=below)
    tied = np.flatnonzero(reference[below] == distinct)
    np.copyto(below, upto)  # reference values strictly below: fewer only where the value is in both
    below[tied] = np.searchsorted(reference, distinct[tied], side="left")
    # ``max(below / n1 - starts / n2)`` and ``max(ends / n2 - upto / n1)`` with the same float
    # operations, in place (with every value distinct, ``starts`` is 0..n2-1 and ``ends`` 1..n2:
    # counts below 2**53 convert to float exactly, so a float range divides to the same values)
    gaps = below / n1
    del below
    gaps -= _counts(0, n2, starts, n2)
    d_plus = max(0.0, float(np.max(gaps)))
    np.copyto(gaps, _counts(1, n2 + 1, None if starts is None else np.append(starts[1:], n2), n2))
    gaps -= upto / n1
    d_minus = min(1.0, max(0.0, float(np.max(gaps))))
    return d_plus, d_minus


def _counts(first: int, stop: int, counts: np.ndarray | None, n: int) -> np.ndarray:
    """``counts / n``, or ``[first, stop) / n`` when ``counts`` is None (a float range, divided in place)."""
    if counts is not None:
        return counts / n
    shares = np.arange(first, stop, dtype=np.float64)
    shares /= n
    return shares


def ks_p_value(d: float, n1: int, n2: int) -> float:
    """The asymptotic two-sided p-value of ``d``, as ``scipy.stats.ks_2samp`` computes it for large samples.

    scipy's ``method="auto"`` is exact only when ``max(n1, n2) <= 10000``; above that it uses the
    Kolmogorov distribution of ``round(n1 n2 / (n1 + n2))`` values, which is all this needs: the
    two ECDF extremes come from :func:`ks_statistic` without re-sorting the (large) reference.
    """
    from scipy import stats

    m, n = sorted([float(n1), float(n2)], reverse=True)
    return float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))


@register
class KolmogorovSmirnov(DriftMethod):
    """Two-sample Kolmogorov-Smirnov test: the largest gap between the two empirical CDFs.

    Sensitive to any difference of distribution (location, spread, shape), distribution-free, and
    the standard first test of numeric drift. Its p-value equals ``scipy.stats.ks_2samp`` on the
    same values (default arguments); on a large window it gets tiny for shifts too small to matter,
    which is why a finding also needs an effect size (see :mod:`monitor.drift`).

    Parameters of ``compare``: the column's :class:`~monitor.drift.reference.NumericReference`
    and the window's values (anything numeric; missing ones are dropped).

    Examples
    --------
    >>> from monitor.drift.reference import NumericReference
    >>> rng = np.random.default_rng(0)
    >>> reference = NumericReference.from_values("x", rng.normal(0, 1, 5000))
    >>> result = KolmogorovSmirnov().compare(reference, rng.normal(0.3, 1, 1000))
    >>> round(result.statistic, 2), result.p_value < 1e-9
    (0.15, True)

    References
    ----------
    Hodges, J. L. (1958). The significance probability of the Smirnov two-sample test. Arkiv för
    Matematik 3, 469-486. scipy.stats.ks_2samp.
    """

    name = "ks"
    kind = "numeric"
    role = "test"
    label = "KS"

    def compare(self, reference_column: NumericReference, current_values: Any) -> MethodResult:
        reference, window = reference_column.values, sorted_window(current_values)
        if reference.size == 0 or window.size == 0:
            raise ValueError(f"ks: column {reference_column.name!r} needs at least one value on each side")
        return ks_test(reference, window)


def ks_test(reference: np.ndarray, window: SortedWindow) -> MethodResult:
    """``ks_2samp(reference, window.values)``'s statistic and p-value (default arguments) for a
    sorted finite reference and window, without sorting either again."""
    n1, n2 = reference.size, window.size
    d_plus, d_minus = ks_statistic(reference, window.values, window.ranks(reference))
    d = d_minus if d_minus > d_plus else d_plus
    if max(n1, n2) <= MAX_AUTO_N:
        exact = _exact(n1, n2, d)
        if exact is None:  # scipy's helper is gone or changed: ks_2samp itself, same numbers
            from scipy import stats

            result = stats.ks_2samp(reference, window.values)
            return MethodResult(float(result.statistic), float(result.pvalue))
        return exact
    return MethodResult(d, ks_p_value(d, n1, n2))


def _exact(n1: int, n2: int, d: float) -> MethodResult | None:
    """ks_2samp's exact branch: its statistic is ``d`` rounded to a multiple of ``1 / lcm(n1, n2)``
    (when scipy's exact computation fails, ks_2samp warns and goes asymptotic with that ``d``).
    None when scipy's helper is not there to call."""
    helper = _exact_helper()
    if helper is None:
        return None
    try:
        success, d_exact, p = helper(n1, n2, math.gcd(n1, n2), d, "two-sided")
    except TypeError:  # a scipy whose helper changed its signature
        return None
    if not success:
        warnings.warn("ks_2samp: Exact calculation unsuccessful. Switching to method=asymp.", RuntimeWarning,
                      stacklevel=3)
        return MethodResult(float(d_exact), ks_p_value(float(d_exact), n1, n2))
    return MethodResult(float(d_exact), float(np.clip(p, 0, 1)))


def _exact_helper():
    """scipy's ``_attempt_exact_2kssamp``, imported on first use; None if scipy has none."""
    global _attempt_exact_2kssamp
    if _attempt_exact_2kssamp is ...:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp as helper
        except ImportError:  # pragma: no cover - depends on the installed scipy
            helper = None
        _attempt_exact_2kssamp = helper
    return _attempt_exact_2kssamp
