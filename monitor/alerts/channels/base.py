"""The channel interface: ``send(notification payload) -> Delivery``, never raising for a peer's failure.

Each channel is one module of this package: a :class:`Channel` subclass registered with
``@channel("name")`` (``monitor.plugins``) whose nested ``Config`` (a :class:`ChannelConfig`) is
the settings the spec validates for ``alerts: [{name: ...}]``. See docs/extending.md.

A payload is one *grouped* notification (``monitor.alerts.notify``): one model, one check run,
the alert transitions it carries under ``alerts``. Channels that speak a protocol with its own
notion of an alert's life (Alertmanager) set ``resend_while_open`` so every check re-sends open
alerts to them, as that protocol expects.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

REDACTED = "***"

# httpx logs every request's full URL at INFO, and a Slack webhook URL *is* its secret: keep
# httpx to warnings in every process that sends notifications.
logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt. ``retryable`` failures are tried again with backoff."""

    ok: bool
    detail: str = ""
    retryable: bool = False
    http_status: int | None = None


class ChannelConfig(BaseModel):
    """Base of every channel's settings model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The field a bare string fills in the spec's short form: ``{slack: URL}`` is ``{slack: {url: URL}}``.
    shorthand: ClassVar[str | None] = None

    @classmethod
    def expand(cls, value: Any) -> Any:
        """The settings the spec's value abbreviates (``None`` is ``{}``); validated afterwards.

        >>> class Hook(ChannelConfig):
        ...     shorthand = "url"
        ...     url: str
        >>> Hook.expand("https://example.com/hook"), Hook.expand(None)
        ({'url': 'https://example.com/hook'}, {})
        """
        if isinstance(value, str) and cls.shorthand:
            return {cls.shorthand: value}
        return value or {}


def http_url(value: str) -> str:
    """A pydantic validator body: the value must be an http(s) URL (named in the error)."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


class Channel(ABC):
    """One way of delivering a grouped notification; subclasses register with ``@channel``."""

    #: The spec's name for the channel, set by ``@channel("name")``.
    name: str = ""
    #: The channel's settings; ``from_config`` receives them validated by the spec.
    Config: type[ChannelConfig] = ChannelConfig
    #: Re-send every open, unsilenced alert on each check (the peer expires what is not re-sent).
    resend_while_open: bool = False

    @classmethod
    @abstractmethod
    def from_config(cls, config: dict[str, Any]) -> "Channel": ...

    @abstractmethod
    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        """Deliver one notification. Never raises for a peer's failure: returns a Delivery."""

    def secrets(self) -> list[str]:
        """Strings that must never reach a log line, an error column or a report."""
        return []

    def redact(self, text: str) -> str:
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, REDACTED)
        return text


def http_delivery(response) -> Delivery:
    """A Delivery from an httpx response: 5xx, 408 and 429 are worth retrying, other 4xx are not."""
    if response.is_success:
        return Delivery(True, f"HTTP {response.status_code}", http_status=response.status_code)
    retryable = response.status_code >= 500 or response.status_code in (408, 429)
    return Delivery(False, f"HTTP {response.status_code}: {response.text[:200]}", retryable=retryable,
                    http_status=response.status_code)
