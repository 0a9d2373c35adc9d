"""What every KPI-history anomaly detector shares: ``update``, ``state`` and ``from_state``.

A check run sees one value per KPI per window, so a detector is fed a short, slow series and must
survive between runs: its whole memory is a small JSON-able ``state`` that the store keeps and
``from_state`` resumes bit for bit. The surface follows river's drift detectors (``update(x)``,
``drift_detected``), see https://riverml.xyz/latest/api/drift/PageHinkley/.

KPIs live on very different scales (accuracy near 0.9, MAE in dollars), so every detector measures
deviations in units of a *baseline* standard deviation learnt from the history itself: the first
``warmup`` values, then every value that raised no alarm (a self-starting chart, Hawkins & Olwell,
*Cumulative Sum Charts and Charting for Quality Improvement*, 1998, ch. 7). Learning past the
warm-up matters: a standard deviation from five points is often far too small, and a frozen one
turns that into a stream of false alarms. After an alarm the detector starts over, so one change
raises one flag and the new level becomes the baseline (as river's detectors reset).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

#: Smallest baseline standard deviation, relative to the baseline mean: a KPI that was constant
#: through the warm-up (accuracy 1.0 five times) would otherwise make any wobble infinitely unusual.
RELATIVE_STD_FLOOR = 1e-3
ABSOLUTE_STD_FLOOR = 1e-12


class Detector(ABC):
    """Base of the KPI anomaly detectors; subclasses set ``name``, ``params`` and ``variables``.

    ``params`` name the ``__init__`` arguments and ``variables`` the attributes that make up the
    detector's memory; ``state`` and ``from_state`` are built from both, so a subclass only
    implements ``update``'s statistic (:meth:`_step`) and :meth:`_reset_statistic`.
    """

    name: ClassVar[str]
    params: ClassVar[tuple[str, ...]]
    variables: ClassVar[tuple[str, ...]]
    #: Memory every detector has: the baseline (Welford running mean and sum of squares).
    _BASE_VARIABLES: ClassVar[tuple[str, ...]] = ("n", "mean", "m2", "seen", "detected", "min_std")

    def __init__(self, warmup: int):
        if warmup < 2:
            raise ValueError(f"{self.name}: warmup must be at least 2 values to estimate a spread, got {warmup}")
        self.warmup = int(warmup)
        #: Smallest baseline standard deviation, in the KPI's own units, for callers who know the
        #: statistic cannot be steadier (a 0% error rate over 20 rows still has binomial noise);
        #: 0 leaves only the relative floor. Kept in ``state``; a state saved without it resumes at 0.
        self.min_std = 0.0
        self.seen = 0
        self.detected = False
        self.reset()

    # -- the interface -------------------------------------------------------------------------

    def update(self, value: float | None) -> bool:
        """Feed the next KPI value; True when it is anomalous (a change is detected).

        A missing value (``None`` or NaN, a window without enough labels) is skipped: it neither
        moves the statistic nor counts towards the warm-up.
        """
        self.detected = False
        if value is None or not math.isfinite(float(value)):
            return False
        value = float(value)
        self.seen += 1
        if self.n < self.warmup:
            self._learn(value)
            if self.n == self.warmup:
                self._reset_statistic()
            return False
        if self._step(value):
            self.detected = True
            self.reset()
            return True
        self._learn(value)
        return False

    @property
    def drift_detected(self) -> bool:
        """Whether the last :meth:`update` flagged its value (river's name for it)."""
        return self.detected

    @property
    def state(self) -> dict[str, Any]:
        """Everything needed to resume: the method, its parameters and its memory (JSON-able)."""
        return {
            "method": self.name,
            "params": {name: getattr(self, name) for name in self.params},
            "variables": {name: getattr(self, name) for name in (*self._BASE_VARIABLES, *self.variables)},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Detector":
        """Rebuild a detector from :attr:`state`; it continues exactly where the saved one stopped."""
        if state.get("method") != cls.name:
            raise ValueError(f"state of a {state.get('method')!r} detector cannot resume a {cls.name!r} one")
        detector = cls(**state["params"])
        for name, value in state["variables"].items():
            setattr(detector, name, value)
        return detector

    def reset(self) -> None:
        """Forget the baseline and the statistic; the next ``warmup`` values build a new baseline."""
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self._reset_statistic()

    # -- for subclasses ------------------------------------------------------------------------

    @abstractmethod
    def _step(self, value: float) -> bool:
        """Advance the statistic with a post-warm-up value; True when it crosses its limit."""

    @abstractmethod
    def _reset_statistic(self) -> None:
        """Restart the statistic (called after the warm-up and on :meth:`reset`)."""

    def _learn(self, value: float) -> None:
        # Welford's update: numerically stable and a state of three numbers.
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    @property
    def std(self) -> float:
        """Baseline standard deviation, floored (see :data:`RELATIVE_STD_FLOOR`)."""
        raw = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0
        return max(raw, RELATIVE_STD_FLOOR * abs(self.mean), ABSOLUTE_STD_FLOOR, self.min_std)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.params)
        return f"{type(self).__name__}({args})"
