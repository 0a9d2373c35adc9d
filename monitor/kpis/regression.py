"""Regression KPIs: MAE, RMSE and R² (R² needs at least two rows)."""

from __future__ import annotations

import math

import numpy as np

from monitor.kpis.base import Evaluation, _finite


def regression_kpis(y_true: np.ndarray, y_pred: np.ndarray) -> Evaluation:
    from sklearn import metrics as skm  # imported when a regression model is checked, not by every worker

    kpis = {
        "mae": _finite(skm.mean_absolute_error(y_true, y_pred)),
        "rmse": _finite(math.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "r2": _finite(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else None,
    }
    return Evaluation(kpis, len(y_true))
