"""The ``interactions`` block: which user events count as what, and the interaction-drop rules'
thresholds (counting is :mod:`monitor.kpis.interactions`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from monitor.durations import parse_duration
from monitor.spec.base import _Strict

EVENT_MAX_LEN = 32  # the database column width


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
