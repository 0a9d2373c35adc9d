"""The ``service`` block: probing the model's health endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from monitor.durations import parse_duration
from monitor.spec.base import _Strict


class ServiceSpec(_Strict):
    """How modelwatch watches the model as a running service: ``{health_url, probe_every, probe_timeout}``.

    A worker on the ``probes`` queue GETs ``health_url`` every ``probe_every``; any 2xx answer
    within ``probe_timeout`` counts as up (``monitor.service.probes``).
    """

    health_url: str
    probe_every: float = Field(30.0, description="How often to probe (a duration, at least 1s).")
    probe_timeout: float = Field(2.0, description="How long a probe may take (a duration, less than probe_every).")

    @field_validator("health_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("probe_every", "probe_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @model_validator(mode="after")
    def _timeout_fits(self) -> "ServiceSpec":
        if self.probe_every < 1:
            raise ValueError("probe_every must be at least 1s")
        if not 0 < self.probe_timeout < self.probe_every:
            raise ValueError(f"probe_timeout must be more than 0 and less than probe_every "
                             f"({self.probe_every:g}s), got {self.probe_timeout:g}s")
        return self
