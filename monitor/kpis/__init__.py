"""Key performance indicators of a window: realised KPIs of labelled predictions
(:mod:`~monitor.kpis.labelled`, by task in ``classification`` and ``regression``) and user
interaction KPIs (:mod:`~monitor.kpis.interactions`). Service KPIs from the logs are
``monitor.service``.

:func:`evaluate` is imported on first use (PEP 562): the KPI names and how a change is judged
(``monitor.kpis.base``, ``monitor.kpis.change``) are read by ``modelwatch status``, ``report`` and
the CLI's tables, which compute no KPI and must not import pandas for it
(tests/unit/test_import_cost.py).
"""

from monitor import lazy
from monitor.kpis.base import CLASSIFICATION_KPIS, LOWER_IS_BETTER, REGRESSION_KPIS, Evaluation, label_key

__all__ = ["CLASSIFICATION_KPIS", "LOWER_IS_BETTER", "REGRESSION_KPIS", "Evaluation", "evaluate", "label_key"]

__getattr__ = lazy.exports(__name__, {"labelled": ("evaluate",)})
