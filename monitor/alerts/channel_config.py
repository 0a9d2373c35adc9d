"""Validated settings of the channels added after ``log`` and ``webhook`` (kept out of
``monitor.spec`` so each channel's knobs sit next to the channel family)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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
