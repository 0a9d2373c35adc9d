"""Benjamini-Hochberg adjustment of the per-feature p-values of one drift check.

A model with 50 features tested at 1 % each would raise a false drift alarm on about four windows
in ten even when nothing changed (``1 - 0.99**50``). Adjusting the p-values of all features tested
in one call controls the *false discovery rate* (the expected share of flagged features that did
not drift) at the threshold instead, and, unlike Bonferroni, keeps the power to flag several
features that really moved together (the usual shape of an upstream change).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Adjusted p-values, in input order: ``scipy.stats.false_discovery_control(ps, method="bh")``.

    This wrapper only adds modelwatch's input checks (a clear error naming what is wrong) and
    the empty / single-value cases. The ``i``-th smallest of ``m`` p-values becomes ``p_(i) * m / i``, then each is replaced by
    the smallest adjusted value at or above its rank, so the adjusted values keep the order of the
    raw ones. A feature is flagged at false discovery rate ``q`` when its adjusted p-value is
    below ``q``.

    >>> benjamini_hochberg([0.5, 0.6, 0.1, 0.001]).tolist()
    [0.6, 0.6, 0.2, 0.004]
    """
    ps = np.asarray(p_values, dtype=np.float64)
    if ps.ndim != 1:
        raise ValueError(f"benjamini_hochberg takes a flat list of p-values, got shape {ps.shape}")
    if not np.all((ps >= 0) & (ps <= 1)):
        raise ValueError("benjamini_hochberg: p-values must be numbers between 0 and 1")
    if ps.size <= 1:
        return ps.copy()
    from scipy import stats  # here, not at the top: importing monitor.drift must not import scipy

    return stats.false_discovery_control(ps, method="bh")
