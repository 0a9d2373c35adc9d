"""Each entry of ``alerts``: a channel type and its settings, optionally routed by severity."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.spec.alerting import SEVERITIES
from monitor.spec.base import _Strict


class WebhookChannel(_Strict):
    url: str
    secret: str | None = None
    timeout: float = Field(5.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value


class LogChannel(_Strict):
    level: Literal["info", "warning", "error"] = "warning"


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value


class SlackConfig(_Config):
    """A Slack incoming webhook (the URL is the secret)."""

    url: str
    timeout: float = Field(5.0, gt=0)

    _url = field_validator("url")(_http_url)


class EmailConfig(_Config):
    """Email over SMTP: ``to`` one address or a list, ``host``/``port`` of the relay."""

    to: list[str]
    sender: str = Field("modelwatch@localhost", alias="from")
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = Field(10.0, gt=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("to", mode="before")
    @classmethod
    def _addresses(cls, value):
        addresses = [value] if isinstance(value, str) else value
        if not addresses or not all(isinstance(a, str) and "@" in a for a in addresses):
            raise ValueError("expected one or more email addresses")
        return addresses

    @model_validator(mode="after")
    def _one_tls_mode(self) -> "EmailConfig":
        if self.ssl and self.starttls:
            raise ValueError("choose ssl (implicit TLS) or starttls, not both")
        return self


class AlertmanagerConfig(_Config):
    """A Prometheus Alertmanager: ``url`` is its base, alerts go to ``{url}/api/v2/alerts``."""

    url: str
    timeout: float = Field(5.0, gt=0)
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on every alert.")

    _url = field_validator("url")(_http_url)


CHANNEL_TYPES: dict[str, type[BaseModel]] = {"log": LogChannel, "webhook": WebhookChannel, "slack": SlackConfig,
                                             "email": EmailConfig, "alertmanager": AlertmanagerConfig}


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
                f"{sorted(CHANNEL_TYPES)}, e.g. {{webhook: https://example.com/hook}}"
            )
        (kind, config), = value.items()
        if kind not in CHANNEL_TYPES:
            raise ValueError(f"unknown alert channel {kind!r}; expected one of {sorted(CHANNEL_TYPES)}")
        if kind in ("webhook", "slack", "alertmanager") and isinstance(config, str):
            config = {"url": config}
        if kind == "email" and isinstance(config, str):
            config = {"to": [config]}
        config = config or {}
        CHANNEL_TYPES[kind].model_validate(config)
        routed = {} if severities is None else {"severities": severities}
        return {"type": kind, "config": config, **routed}

    def routes(self, severity: str) -> bool:
        """Does this channel take alerts of ``severity``?"""
        return severity in self.severities

    def parsed(self) -> _Strict:
        return CHANNEL_TYPES[self.type].model_validate(self.config)
