"""Population Stability Index of a numeric column (reference-decile bins) or a categorical one."""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.drift.base import ANY_KIND, DriftMethod, MethodResult, register
from monitor.drift.reference import CategoryCounts, Contingency, NumericReference, bin_counts, finite_sorted

#: Floor for a bin's share on either side. An empty bin would make PSI infinite (log of zero);
#: 1e-4 keeps one empty bin against a 10% reference bin at about 0.1 * ln(1000) = 0.69, a clear
#: "drifted" but a finite number, and is small enough not to move PSI when no bin is empty.
EPSILON = 1e-4


def population_stability_index(reference_counts: np.ndarray, current_counts: np.ndarray,
                               epsilon: float = EPSILON) -> float:
    """``sum((q - p) * ln(q / p))`` over bins, with shares ``p`` (reference) and ``q`` (window).

    Shares are floored at ``epsilon`` (not renormalised), see :data:`EPSILON`.

    >>> round(population_stability_index(np.array([50, 50]), np.array([60, 40])), 4)
    0.0405
    """
    p = np.maximum(reference_counts / reference_counts.sum(), epsilon)
    q = np.maximum(current_counts / current_counts.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


@register
class PopulationStability(DriftMethod):
    """Population Stability Index: the credit-risk industry's effect size for a shifted population.

    Numeric columns are cut into ten bins at the reference deciles (fixed when the reference is
    built; tied deciles merge bins, the outer bins are open so every window value lands in one).
    Categorical columns use the categories themselves as bins, over the union of reference and
    window categories, so an unseen category counts (at the ``epsilon`` floor on the reference side).
    The customary reading: below 0.1 no real change, 0.1-0.2 moderate, above 0.2 a significant
    shift (hence the default threshold 0.2). One class serves both kinds (``kind = "any"``) because
    the spec names it ``psi`` for either.

    Examples
    --------
    >>> from monitor.drift.reference import NumericReference
    >>> rng = np.random.default_rng(0)
    >>> reference = NumericReference.from_values("x", rng.normal(0, 1, 10000))
    >>> PopulationStability().compare(reference, rng.normal(0.5, 1, 5000)).statistic > 0.2
    True

    References
    ----------
    Yurdakul, B. (2018). Statistical properties of population stability index. Western Michigan
    University dissertation 3208. Siddiqi, N. (2006). Credit Risk Scorecards, Wiley, ch. 8.
    """

    name = "psi"
    kind = ANY_KIND
    role = "effect"
    label = "PSI"

    def compare(self, reference_column: Any, current_values: Any) -> MethodResult:
        if isinstance(reference_column, NumericReference):
            window = finite_sorted(current_values)
            reference_counts = reference_column.psi_counts
            current_counts = bin_counts(window, reference_column.psi_edges)
        else:
            table = Contingency.of(reference_column, CategoryCounts.of(current_values))
            reference_counts, current_counts = table.reference, table.current
        if reference_counts.sum() == 0 or current_counts.sum() == 0:
            raise ValueError(f"psi: column {reference_column.name!r} needs at least one value on each side")
        return MethodResult(population_stability_index(reference_counts, current_counts))
