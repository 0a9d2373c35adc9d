"""EWMA control chart: flags a sudden change in a KPI."""

from __future__ import annotations

import math

from monitor.anomaly.base import Detector


class EWMA(Detector):
    """Exponentially weighted moving average control chart.

    The chart smooths the KPI, ``z_t = lambda_ * x_t + (1 - lambda_) * z_{t-1}``, and flags a value
    when ``z_t`` leaves ``baseline mean ± L * sigma_z(t)``, with the exact time-varying width
    ``sigma_z(t) = sigma * sqrt(lambda_ / (2 - lambda_) * (1 - (1 - lambda_) ** (2 t)))``. Smoothing
    is why it is chosen for KPIs: one noisy window does not fire it, a genuine jump of a few sigma
    does within a point or two. The baseline (mean, sigma) comes from the warm-up and keeps learning
    from values that raised no alarm; after an alarm the chart starts over (see
    :mod:`monitor.anomaly.base`).

    Parameters
    ----------
    lambda_
        Weight of the newest value, in (0, 1]. Small values catch small persistent shifts, large
        values sudden jumps; 0.3 is a common compromise (Montgomery, table 9.11).
    L
        Width of the control limits in standard deviations of the smoothed statistic.
    warmup
        Values used to learn the baseline before anything can be flagged.

    Examples
    --------
    >>> chart = EWMA()
    >>> history = [0.90, 0.91, 0.89, 0.90, 0.91, 0.90, 0.89, 0.91, 0.75, 0.76]
    >>> [i for i, value in enumerate(history) if chart.update(value)]
    [8]

    References
    ----------
    S. W. Roberts (1959). Control chart tests based on geometric moving averages. Technometrics
    1(3), 239-250. D. C. Montgomery, *Introduction to Statistical Quality Control*, 7th ed., §9.2.
    """

    name = "ewma"
    params = ("lambda_", "L", "warmup")
    variables = ("z", "t")

    def __init__(self, lambda_: float = 0.3, L: float = 3.0, warmup: int = 5):
        if not 0 < lambda_ <= 1:
            raise ValueError(f"ewma: lambda_ must be in (0, 1], got {lambda_}")
        if L <= 0:
            raise ValueError(f"ewma: L must be positive, got {L}")
        self.lambda_ = float(lambda_)
        self.L = float(L)
        super().__init__(warmup)

    def _reset_statistic(self) -> None:
        self.z = self.mean
        self.t = 0

    def _step(self, value: float) -> bool:
        self.t += 1
        self.z = self.lambda_ * value + (1 - self.lambda_) * self.z
        spread = self.lambda_ / (2 - self.lambda_) * (1 - (1 - self.lambda_) ** (2 * self.t))
        return abs(self.z - self.mean) > self.L * self.std * math.sqrt(spread)
