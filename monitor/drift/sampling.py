"""Which rows the joint-drift classifier samples, without importing scikit-learn.

The detect stage takes the classifier's sample of window rows during its one pass over the
window's columns, before it knows whether the classifier runs (that can depend on the drift rule's
findings); this module lets it compute the rows without loading scikit-learn, which a worker
imports only when the classifier does run.
"""

from __future__ import annotations

import numpy as np


def sample_rows(count: int, size: int, rng: np.random.Generator) -> np.ndarray | None:
    """Which of ``count`` rows a sample of up to ``size`` takes, in order (None: all of them).

    >>> sample_rows(3, 5, np.random.default_rng(0)) is None, sample_rows(10, 3, np.random.default_rng(0)).tolist()
    (True, [5, 6, 9])
    """
    return None if count <= size else np.sort(rng.choice(count, size, replace=False))


def window_sample_rows(reference_rows: int, window_rows: int, sample: int, seed: int = 0) -> np.ndarray | None:
    """The window rows :func:`monitor.drift.multivariate.domain_classifier_drift` samples with these
    sizes and ``seed`` (None: all of them). A caller that reads a large window one column at a time
    takes these rows of each column and passes the sample as ``current``: a window of at most
    ``sample`` rows is used whole, so the classifier sees exactly the rows it would have drawn."""
    rng = np.random.default_rng(seed)
    sample_rows(reference_rows, sample, rng)  # the reference is drawn first
    return sample_rows(window_rows, sample, rng)
