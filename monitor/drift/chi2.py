"""Chi-squared test of a categorical column: reference vs window counts as a 2 x k table."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from monitor.drift.base import DriftMethod, MethodResult, register
from monitor.drift.reference import CategoricalReference, CategoryCounts, Contingency


def contingency_table(reference_column: CategoricalReference, current_values: Any) -> np.ndarray:
    """The 2 x k table (row 0 reference, row 1 window) over the union of categories.

    Zero columns: a category counted zero times on *both* sides would give a zero expected
    frequency, on which ``scipy.stats.chi2_contingency`` raises; such columns carry no information
    and are dropped (the counts never hold one, as zero counts are dropped when counting, but a
    hand-built reference might). A category seen on one side only (an unseen window category, or
    a reference category missing from the window) stays: its expected counts are positive.
    """
    table = Contingency.of(reference_column, CategoryCounts.of(current_values))
    observed = np.vstack((table.reference, table.current))
    return observed[:, observed.sum(axis=0) > 0]


@register
class ChiSquared(DriftMethod):
    """Pearson's chi-squared test of homogeneity between reference and window category counts.

    The standard test that two samples share one categorical distribution; its statistic and
    p-value equal ``scipy.stats.chi2_contingency`` on the 2 x k table of :func:`contingency_table`
    with scipy's defaults (so Yates' continuity correction for two categories, and p = 1 with
    statistic 0 for a single category). Like KS it flags trivial share changes on big windows,
    hence the effect-size guard (Jensen-Shannon) in :mod:`monitor.drift`.

    Examples
    --------
    >>> from monitor.drift.reference import CategoricalReference
    >>> reference = CategoricalReference.from_values("plan", ["a"] * 500 + ["b"] * 500)
    >>> result = ChiSquared().compare(reference, ["a"] * 300 + ["b"] * 100)
    >>> round(result.statistic, 1), result.p_value < 1e-9
    (71.9, True)

    References
    ----------
    Agresti, A. (2007). An Introduction to Categorical Data Analysis, 2nd ed., §2.4.
    scipy.stats.chi2_contingency.
    """

    name = "chi2"
    kind = "categorical"
    role = "test"
    label = "chi-squared"

    def compare(self, reference_column: CategoricalReference, current_values: Any) -> MethodResult:
        observed = contingency_table(reference_column, current_values)
        if observed.size == 0 or (observed.sum(axis=1) == 0).any():
            raise ValueError(f"chi2: column {reference_column.name!r} needs at least one value on each side")
        result = stats.chi2_contingency(observed)
        return MethodResult(float(result.statistic), float(result.pvalue))
