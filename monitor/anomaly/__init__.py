"""Anomalies in a model's KPI history: a sudden change (EWMA) or a slow slide (Page-Hinkley, CUSUM).

Every detector has the same surface (``update(value) -> bool``, ``state``, ``from_state``) so the
spec names one (``anomaly: {method: cusum, params: {h: 4}}``) and :data:`DETECTORS` builds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.anomaly.base import Detector
from monitor.anomaly.cusum import CUSUM
from monitor.anomaly.ewma import EWMA
from monitor.anomaly.page_hinkley import PageHinkley

DETECTORS: dict[str, type[Detector]] = {cls.name: cls for cls in (EWMA, PageHinkley, CUSUM)}


def make_detector(method: str = "ewma", **params: Any) -> Detector:
    """The detector registered as ``method``, built with ``params`` (its ``__init__`` arguments)."""
    try:
        cls = DETECTORS[method]
    except KeyError:
        raise ValueError(f"unknown anomaly method {method!r}; expected one of {sorted(DETECTORS)}") from None
    return cls(**params)


def resume(state: dict[str, Any]) -> Detector:
    """A detector continued from a saved :attr:`Detector.state`, whatever its method."""
    method = state.get("method")
    if method not in DETECTORS:
        raise ValueError(f"unknown anomaly method {method!r} in saved state; expected one of {sorted(DETECTORS)}")
    return DETECTORS[method].from_state(state)


def scan(history: Iterable[float | None], method: str = "ewma", **params: Any) -> list[int]:
    """Indices of ``history`` that the detector flags, fed in order from a fresh start.

    >>> scan([5.0, 5.1, 4.9, 5.0, 5.1, 5.0, 4.9, 5.0, 7.0, 7.1], method="ewma")
    [8]
    """
    detector = make_detector(method, **params)
    return [i for i, value in enumerate(history) if detector.update(value)]


__all__ = ["CUSUM", "DETECTORS", "EWMA", "Detector", "PageHinkley", "make_detector", "resume", "scan"]
