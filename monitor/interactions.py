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
reference (see :mod:`monitor.detect.interactions`). Which event names count as what is the
``interactions`` block of the model spec (:class:`InteractionSpec`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.durations import parse_duration

#: KPI names this module writes: the rates (KPI anomalies watch them too), then the counts later checks pool.
RATE_KPIS = ("click_through_rate", "conversion_rate", "mean_feedback")
COUNT_KPIS = ("interaction_impressions", "interaction_clicks", "interaction_conversions")
EVENT_MAX_LEN = 32  # the database column width


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InteractionEvents(_Strict):
    """Which event names count as what. Names compare case-insensitively; an event name in none
    of these lists is rejected at ingestion, so a typo (``clik``) never silently counts as nothing."""

    click: list[str] = Field(default_factory=lambda: ["click"])
    conversion: list[str] = Field(default_factory=lambda: ["conversion", "purchase"])
    feedback: list[str] = Field(default_factory=lambda: ["feedback", "rating"])
    other: list[str] = Field(default_factory=lambda: ["impression", "view", "dismiss"],
                             description="Accepted and stored, but counted in no KPI.")

    @field_validator("click", "conversion", "feedback", "other")
    @classmethod
    def _normalised(cls, names: list[str]) -> list[str]:
        cleaned = [n.strip().lower() for n in names]
        bad = [n for n in cleaned if not n or len(n) > EVENT_MAX_LEN]
        if bad:
            raise ValueError(f"event names must be 1-{EVENT_MAX_LEN} characters, got {bad}")
        return cleaned

    @model_validator(mode="after")
    def _disjoint(self) -> "InteractionEvents":
        seen: dict[str, str] = {}
        for role in ("click", "conversion", "feedback", "other"):
            for name in getattr(self, role):
                if name in seen and seen[name] != role:
                    raise ValueError(f"event {name!r} is listed as both {seen[name]} and {role}")
                seen[name] = role
        return self

    def role_of(self, event: str) -> str | None:
        """``click`` / ``conversion`` / ``feedback`` / ``other``, or None for an unknown event."""
        for role in ("click", "conversion", "feedback", "other"):
            if event in getattr(self, role):
                return role
        return None

    @property
    def known(self) -> list[str]:
        return [*self.click, *self.conversion, *self.feedback, *self.other]


class ReferenceRates(_Strict):
    """Fixed reference rates (e.g. from an A/B test). When unset, earlier windows are pooled."""

    click_through_rate: float | None = Field(None, gt=0, lt=1)
    conversion_rate: float | None = Field(None, gt=0, lt=1)


class InteractionSpec(_Strict):
    """The ``interactions`` block of a model spec (every field has a default)::

        interactions:
          columns: {event: event, value: value}      # request id and timestamp: the model's columns
          events: {click: [click], conversion: [conversion, purchase], feedback: [feedback, rating]}
          ctr_drop_pct: 20          # fire when CTR is 20% (relative) below the reference ...
          conversion_drop_pct: 20
          alpha: 0.01               # ... and a one-sided two-proportion z-test says p < alpha
          min_impressions: 200
          reference: {click_through_rate: 0.12}      # optional; else the pooled earlier windows
          reference_windows: 24
          attribution_delay: 5m     # impressions younger than this at the window's end are left out
    """

    enabled: bool | None = Field(None, description="None: on once the model has any interaction event.")
    event_column: str = "event"
    value_column: str = "value"
    events: InteractionEvents = Field(default_factory=InteractionEvents)
    ctr_drop_pct: float | None = Field(20.0, ge=0)
    conversion_drop_pct: float | None = Field(20.0, ge=0)
    alpha: float = Field(0.01, gt=0, lt=1)
    min_impressions: int = Field(200, ge=1)
    reference: ReferenceRates = Field(default_factory=ReferenceRates)
    reference_windows: int = Field(24, ge=1, description="Earlier non-overlapping windows pooled.")
    attribution_delay: float = Field(0.0, ge=0, description="Leave out impressions served this close to the "
                                     "window's end (a duration): their users have not had time to act yet.")

    @field_validator("attribution_delay", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


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
