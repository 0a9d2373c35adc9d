"""The ``columns`` block: which column of the logs holds what."""

from __future__ import annotations

from pydantic import Field, model_validator

from monitor.spec.base import _Strict


class Columns(_Strict):
    """Which column of the logs holds what. Defaults match the ingestion docs."""

    id: str = "request_id"
    timestamp: str = "ts"
    prediction: str = "prediction"
    score: str | None = "score"
    label: str = "label"
    version: str = "version"
    latency_ms: str = "latency_ms"
    status: str = "status"
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list,
                                description="Categorical columns whose values get their own KPIs and drift.")

    @model_validator(mode="after")
    def _features_distinct(self) -> "Columns":
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"columns listed as both numeric and categorical: {sorted(both)}")
        unknown = [s for s in self.segments if s not in self.categorical]
        if unknown:
            raise ValueError(f"segments {unknown} must also be listed under categorical")
        return self

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]
