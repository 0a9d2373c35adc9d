"""Key performance indicators of a window: realised KPIs of labelled predictions
(:mod:`~monitor.kpis.labelled`, by task in ``classification`` and ``regression``) and user
interaction KPIs (:mod:`~monitor.kpis.interactions`). Service KPIs from the logs are
``monitor.service``."""

from monitor.kpis.base import CLASSIFICATION_KPIS, LOWER_IS_BETTER, REGRESSION_KPIS, Evaluation, label_key
from monitor.kpis.labelled import evaluate

__all__ = ["CLASSIFICATION_KPIS", "LOWER_IS_BETTER", "REGRESSION_KPIS", "Evaluation", "evaluate", "label_key"]
