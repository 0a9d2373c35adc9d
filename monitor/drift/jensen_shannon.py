"""Jensen-Shannon distance (base 2) between reference and window category shares."""

from __future__ import annotations

from typing import Any

from monitor.drift.base import DriftMethod, MethodResult, register
from monitor.drift.reference import CategoricalReference, CategoryCounts, Contingency


@register
class JensenShannon(DriftMethod):
    """Jensen-Shannon distance: the square root of the JS divergence, in base 2 (so in [0, 1]).

    A bounded, symmetric effect size for categorical shares that, unlike KL divergence or PSI,
    stays finite when a category is on one side only (an unseen category simply counts). 0 means
    identical shares, 1 disjoint categories; 0.1 is about a tenth of the rows (10-12 %) moving from one
    category to another. Computed over the union of categories; equals
    ``scipy.spatial.distance.jensenshannon(reference_counts, window_counts, base=2)``.

    Examples
    --------
    >>> from monitor.drift.reference import CategoricalReference
    >>> reference = CategoricalReference.from_values("plan", ["a"] * 500 + ["b"] * 500)
    >>> round(JensenShannon().compare(reference, ["a"] * 300 + ["b"] * 100).statistic, 3)
    0.221

    References
    ----------
    Endres, D. M. & Schindelin, J. E. (2003). A new metric for probability distributions. IEEE
    Transactions on Information Theory 49(7), 1858-1860. scipy.spatial.distance.jensenshannon.
    """

    name = "jensen_shannon"
    kind = "categorical"
    role = "effect"
    label = "Jensen-Shannon"

    def compare(self, reference_column: CategoricalReference, current_values: Any) -> MethodResult:
        table = Contingency.of(reference_column, CategoryCounts.of(current_values))
        if table.reference.sum() == 0 or table.current.sum() == 0:
            raise ValueError(f"jensen_shannon: column {reference_column.name!r} needs at least one value on "
                             "each side")
        from scipy.spatial import distance  # not at the top: importing monitor.drift must not import scipy

        return MethodResult(float(distance.jensenshannon(table.reference, table.current, base=2)))
