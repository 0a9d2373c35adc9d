"""User interactions as KPIs: a recommender whose click-through collapses is broken even while
its accuracy looks fine.

An *interaction* is an event a user caused after a prediction was served: a ``click``, a
``conversion``, a ``feedback`` rating. Each names the prediction's request id, so a check joins the
events to its window's predictions (the *impressions*) and computes, per window:

* ``click_through_rate``: share of impressions with at least one click event;
* ``conversion_rate``: share of impressions with at least one conversion event;
* ``mean_feedback``: mean ``value`` of the feedback events of the window's impressions.

The counts behind the two rates (``interaction_impressions``, ``interaction_clicks``,
``interaction_conversions``) are kept as KPIs too, so later checks can pool earlier windows into a
reference (see :mod:`monitor.detect.rules.interaction_drop`). Which event names count as what is the
``interactions`` block of the model spec (:class:`InteractionSpec`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from monitor.spec.interactions import InteractionSpec

#: KPI names this module writes: the rates (KPI anomalies watch them too), then the counts later checks pool.
RATE_KPIS = ("click_through_rate", "conversion_rate", "mean_feedback")
COUNT_KPIS = ("interaction_impressions", "interaction_clicks", "interaction_conversions")


@dataclass(frozen=True)
class InteractionCounts:
    """What a window's impressions did. ``feedback_count`` events had a value, ``feedback_sum`` is
    their sum; rates are derived, so pooling windows means adding counts."""

    impressions: int
    clicks: int
    conversions: int
    feedback_count: int = 0
    feedback_sum: float = 0.0
    events: int = 0  # interaction events joined to the window (of any kind)

    @property
    def click_through_rate(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.impressions if self.impressions else None

    @property
    def mean_feedback(self) -> float | None:
        return self.feedback_sum / self.feedback_count if self.feedback_count else None

    def kpis(self) -> dict[str, float | None]:
        return {"click_through_rate": self.click_through_rate, "conversion_rate": self.conversion_rate,
                "mean_feedback": self.mean_feedback, "interaction_impressions": float(self.impressions),
                "interaction_clicks": float(self.clicks), "interaction_conversions": float(self.conversions)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "InteractionCounts":
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"click_through_rate": self.click_through_rate,
                               "conversion_rate": self.conversion_rate, "mean_feedback": self.mean_feedback}


@dataclass(frozen=True)
class PooledReference:
    """Counts of earlier windows added up; ``windows`` says how many were pooled."""

    impressions: int
    clicks: int
    conversions: int
    windows: int


def count_interactions(impressions: int, events: Iterable[tuple[str, str, float | None]],
                       spec: InteractionSpec) -> InteractionCounts:
    """Count what the window's impressions did from ``(request_id, event, value)`` triples.

    Every triple must belong to an impression of the window (the caller joins by request id). A
    request counts once as clicked however many click events it has.

    >>> spec = InteractionSpec()
    >>> c = count_interactions(4, [("a", "click", None), ("a", "click", None), ("b", "purchase", 1.0),
    ...                            ("b", "rating", 4.0), ("c", "rating", 2.0)], spec)
    >>> c.click_through_rate, c.conversion_rate, c.mean_feedback
    (0.25, 0.25, 3.0)
    """
    clicked: set[str] = set()
    converted: set[str] = set()
    feedback_count, feedback_sum, total = 0, 0.0, 0
    role_of = spec.events.role_of
    for request_id, event, value in events:
        total += 1
        role = role_of(event)
        if role == "click":
            clicked.add(request_id)
        elif role == "conversion":
            converted.add(request_id)
        elif role == "feedback" and value is not None:
            feedback_count += 1
            feedback_sum += float(value)
    return InteractionCounts(impressions=impressions, clicks=len(clicked), conversions=len(converted),
                             feedback_count=feedback_count, feedback_sum=feedback_sum, events=total)
