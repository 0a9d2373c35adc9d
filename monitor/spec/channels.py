"""Each entry of ``alerts``: a channel type and its settings, optionally routed by severity.

The channel names and each channel's settings model come from the channel plugins
(``monitor.plugins.CHANNELS``, loaded by name: this module imports nothing from
``monitor.alerts``). A channel's ``Config`` validates its settings, and its ``expand`` turns the
short form ``{slack: URL}`` into the settings it abbreviates.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from monitor.plugins import CHANNELS
from monitor.spec.alerting import SEVERITIES
from monitor.spec.base import _Strict


class ChannelSpec(_Strict):
    """One entry of ``alerts``: ``{webhook: URL}``, ``{webhook: {url: ..., secret: ...}}``, ``{log: {}}``,
    ``{slack: URL}``, ``{email: {to: ..., host: ...}}``, ``{alertmanager: URL}``; plus optionally
    ``severities: [critical]`` to route only those severities to it (default: all)."""

    type: str
    config: dict[str, Any]
    severities: list[Literal["warning", "critical"]] = Field(default_factory=lambda: list(SEVERITIES))

    @model_validator(mode="before")
    @classmethod
    def _single_key(cls, value: Any) -> Any:
        if isinstance(value, dict) and {"type", "config"} <= set(value) <= {"type", "config", "severities"}:
            value = {value["type"]: value["config"], **({"severities": value["severities"]} if "severities" in value else {})}
        severities = None
        if isinstance(value, dict) and "severities" in value:
            value = dict(value)
            severities = value.pop("severities")
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(
                "each alert channel is a mapping with one key, one of "
                f"{CHANNELS.names()}, e.g. {{webhook: https://example.com/hook}}"
            )
        (kind, config), = value.items()
        if kind not in CHANNELS:
            raise ValueError(f"unknown alert channel {kind!r}; expected one of {CHANNELS.names()}")
        settings = CHANNELS.config_model(kind)
        config = settings.expand(config)
        if not isinstance(config, dict):
            raise ValueError(f"alert channel {kind!r} expects a mapping of its settings, got {config!r}")
        settings.model_validate(config)
        routed = {} if severities is None else {"severities": severities}
        return {"type": kind, "config": config, **routed}

    def routes(self, severity: str) -> bool:
        """Does this channel take alerts of ``severity``?"""
        return severity in self.severities

    def parsed(self) -> BaseModel:
        """The channel's settings as its own ``Config`` model."""
        return CHANNELS.config_model(self.type).model_validate(self.config)
