"""The generic ``webhook`` channel: the grouped notification as a JSON POST.

Receivers get an ``Idempotency-Key`` header (stable per notification) so that a delivery retried
after an ambiguous failure can be recognised, and, when the channel has a ``secret``,
``X-Modelwatch-Timestamp: <unix seconds>`` and
``X-Modelwatch-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>``.
Signing the timestamp lets a receiver refuse a replayed old request (e.g. older than 5 minutes).
With ``auth: {header, env}`` it also sends that header with the environment variable's value, for
receivers that check a fixed header rather than a signature (n8n's Header Auth, docs/n8n.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from pydantic import Field, field_validator

from monitor.alerts.channels.base import Channel, ChannelConfig, Delivery, http_delivery, http_url
from monitor.alerts.header_auth import HeaderAuth, MissingSecret
from monitor.plugins import channel


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (Unix seconds, as sent)."""
    material = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, timestamp: str, signature: str, *, max_age: float = 300.0,
           now: float | None = None) -> bool:
    """What a receiver does: constant-time compare, and refuse a stale timestamp."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= max_age and hmac.compare_digest(sign(secret, body, timestamp), signature)


@channel("webhook")
class WebhookChannel(Channel):
    """POSTs the notification as JSON, signed with HMAC-SHA256 when the channel has a secret."""

    class Config(ChannelConfig):
        """``{webhook: URL}`` or ``{webhook: {url: ..., secret: ..., timeout: 5, auth: {header, env}}}``."""

        shorthand = "url"

        url: str
        secret: str | None = None
        timeout: float = Field(5.0, gt=0)
        auth: HeaderAuth | None = None

        _url = field_validator("url")(http_url)

    def __init__(self, url: str, secret: str | None = None, timeout: float = 5.0, auth: HeaderAuth | None = None):
        self.url, self.secret, self.timeout, self.auth = url, secret, timeout, auth

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "WebhookChannel":
        auth = HeaderAuth.model_validate(config["auth"]) if config.get("auth") else None
        return cls(config["url"], config.get("secret"), config.get("timeout", 5.0), auth)

    def secrets(self) -> list[str]:
        auth_value = self.auth.value() if self.auth else None
        return [s for s in (self.secret, auth_value) if s]

    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        body = json.dumps(payload, default=str, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key,
                   "User-Agent": "modelwatch"}
        if self.secret:
            timestamp = str(int(time.time()))
            headers["X-Modelwatch-Timestamp"] = timestamp
            headers["X-Modelwatch-Signature"] = sign(self.secret, body, timestamp)
        if self.auth:
            try:
                name, value = self.auth.resolve()
            except MissingSecret as exc:  # configuration, not the receiver: retrying will not help
                return Delivery(False, str(exc), retryable=False)
            headers[name] = value
        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return Delivery(False, f"{type(exc).__name__}: {exc}", retryable=True)
        return http_delivery(response)
