"""Per-feature data drift: has a window's column moved away from the model version's reference?

:func:`detect_drift` compares every listed column of a window with the reference and returns one
:class:`ColumnDrift` per column. A column *drifted* when all three hold:

1. **Significance**: the test's p-value (Kolmogorov-Smirnov for numeric columns, chi-squared for
   categorical ones), Benjamini-Hochberg-adjusted across the columns judged in this call, is below
   ``p_value`` (default **0.01**). BH controls the false discovery rate across features: with 50
   features tested at 1 % each, some feature would "drift" in four windows out of ten by chance
   alone (:mod:`monitor.drift.correction`).
2. **Effect size**: the effect at or above its threshold. Large windows make p-values tiny for
   trivial shifts (a 0.02-standard-deviation move in 200k rows has p < 1e-9), so significance
   alone would alert on changes nobody should act on; the effect size says the change is big
   enough to matter. Defaults: normalised Wasserstein **0.1** for numeric columns (a tenth of the
   reference standard deviation; a mean shift of ``k`` standard deviations scores about ``k``),
   Jensen-Shannon distance **0.1** for categorical ones (base 2, in [0, 1]), or PSI **0.2** when
   ``numeric_effect``/``categorical_effect`` is ``"psi"`` (the customary "significant shift").
3. **Enough data**: at least ``min_samples`` (default **100**) non-missing values on both sides;
   below that a column is ``skipped`` ("insufficient data") rather than judged, because both the
   test and the effect size are too noisy to act on.

Every threshold can be changed for the call (``p_value=0.001``, ``wasserstein=0.2``, or
``thresholds={"psi": 0.25}``) and per feature (``per_feature={"income": {"wasserstein": 0.3}}``,
which accepts every option but ``per_feature``). A column missing from either side, or with too
few values, is returned with ``skipped`` set, never ``drifted``, and takes no part in the
correction. Categories of the window the reference never saw are listed on their own
(``unseen_categories``, ``unseen_share`` of the window's rows); they also count in chi-squared,
Jensen-Shannon and PSI.

The reference side is computed once per model version (:class:`DriftReference`, cached as bytes);
a check touches only the window. Each method is one small class in its own module
(:mod:`~monitor.drift.ks`, :mod:`~monitor.drift.wasserstein`, :mod:`~monitor.drift.psi`,
:mod:`~monitor.drift.chi2`, :mod:`~monitor.drift.jensen_shannon`), registered in :data:`METHODS`.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> reference = pd.DataFrame({"income": rng.normal(50_000, 10_000, 5000)})
>>> window = pd.DataFrame({"income": rng.normal(56_000, 10_000, 2000)})
>>> [finding] = detect_drift(reference, window, numeric=["income"])
>>> finding.drifted, round(finding.effect_size, 1)
(True, 0.6)
"""

from monitor.drift.base import METHODS, ColumnDrift, DriftMethod, MethodResult, register
from monitor.drift.compare import DriftOptions, detect_drift
from monitor.drift.correction import benjamini_hochberg
from monitor.drift.reference import DriftReference

__all__ = ["METHODS", "ColumnDrift", "DriftMethod", "DriftOptions", "DriftReference", "MethodResult",
           "benjamini_hochberg", "detect_drift", "register"]
