"""Two-sample Kolmogorov-Smirnov test of a numeric column, from the pre-sorted reference."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from monitor.drift.base import DriftMethod, MethodResult, register
from monitor.drift.reference import NumericReference, finite_sorted

try:  # scipy's own exact two-sample computation; public fallback below if it moves
    from scipy.stats._stats_py import _attempt_exact_2kssamp
except ImportError:  # pragma: no cover - depends on the installed scipy
    _attempt_exact_2kssamp = None

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
    starts = np.flatnonzero(first)  # window values below each distinct value
    ends = np.append(starts[1:], n2)  # window values at or below it
    distinct = window[starts]
    upto = np.searchsorted(reference, distinct, side="right")  # reference values at or below
    below = upto.copy()  # reference values strictly below: fewer only where the value is in both
    tied = np.flatnonzero(reference[np.maximum(upto - 1, 0)] == distinct)
    below[tied] = np.searchsorted(reference, distinct[tied], side="left")
    d_plus = max(0.0, float(np.max(below / n1 - starts / n2)))
    d_minus = min(1.0, max(0.0, float(np.max(ends / n2 - upto / n1))))
    return d_plus, d_minus


def ks_p_value(d: float, n1: int, n2: int) -> tuple[float, float] | None:
    """``(statistic, p_value)`` exactly as ``scipy.stats.ks_2samp`` (two-sided, ``method="auto"``).

    scipy goes exact when ``max(n1, n2) <= 10000`` (rounding ``d`` to a multiple of
    ``1 / lcm(n1, n2)``), and falls back to the asymptotic Kolmogorov distribution of
    ``round(n1 n2 / (n1 + n2))`` when that fails (overflow) or the samples are larger. The exact
    path calls scipy's private helper; ``None`` means it is unavailable and the caller must ask
    ``ks_2samp`` itself.
    """
    prob = math.nan
    if max(n1, n2) <= MAX_AUTO_N:
        if _attempt_exact_2kssamp is None:
            return None
        try:
            success, d, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
        except TypeError:  # pragma: no cover - a scipy that changed the helper's signature
            return None
        if success:
            return float(d), float(np.clip(prob, 0, 1))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    prob = stats.kstwo.sf(d, np.round(m * n / (m + n)))
    return float(d), float(np.clip(prob, 0, 1))


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
        d_plus, d_minus = ks_statistic(reference, window)
        exact = ks_p_value(d_minus if d_minus > d_plus else d_plus, reference.size, window.size)
        if exact is None:  # pragma: no cover - scipy without the private helper
            result = stats.ks_2samp(reference, window)
            return MethodResult(float(result.statistic), float(result.pvalue))
        return MethodResult(*exact)
