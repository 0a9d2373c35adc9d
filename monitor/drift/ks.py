"""Two-sample Kolmogorov-Smirnov test of a numeric column, from the pre-sorted reference.

Only public scipy is used: ``scipy.stats.ks_2samp`` for the exact small-sample p-value and
``scipy.stats.kstwo`` for the asymptotic one, so a scipy upgrade cannot break the import
(tests/unit/test_drift.py checks both against ``ks_2samp``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from monitor.drift.base import DriftMethod, MethodResult, register
from monitor.drift.reference import NumericReference, finite_sorted, sorted_ranks

#: ``ks_2samp(method="auto")`` is exact when both samples have at most this many values.
MAX_AUTO_N = 10000


def ks_statistic(reference: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    """``(D+, D-)``: the largest excess of the reference's ECDF over the window's, and the reverse.

    Both inputs are sorted and finite. scipy evaluates the ECDF difference at all ``n1 + n2``
    pooled values after sorting both samples; the extremes can only sit at the window's distinct
    values (the window's ECDF is constant between them, the reference's is monotone), so two
    binary searches of those values in the already sorted reference give the same two numbers,
    computed with the same ``count / n`` arithmetic, without touching the reference's order.
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
    upto = sorted_ranks(reference, distinct, "right")  # reference values at or below
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
        reference, window = reference_column.values, finite_sorted(current_values)
        if reference.size == 0 or window.size == 0:
            raise ValueError(f"ks: column {reference_column.name!r} needs at least one value on each side")
        if max(reference.size, window.size) <= MAX_AUTO_N:
            # small samples: scipy's exact distribution (public API; sorting <= 20000 values is cheap)
            result = stats.ks_2samp(reference, window)
            return MethodResult(float(result.statistic), float(result.pvalue))
        d_plus, d_minus = ks_statistic(reference, window)
        d = d_minus if d_minus > d_plus else d_plus
        return MethodResult(d, ks_p_value(d, reference.size, window.size))
