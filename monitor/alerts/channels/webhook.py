"""The generic ``webhook`` channel: the grouped notification as a JSON POST.

Receivers get an ``Idempotency-Key`` header (stable per notification) so that a delivery retried
after an ambiguous failure can be recognised, and, when the channel has a ``secret``, the three
`Standard Webhooks <https://www.standardwebhooks.com/>`_ headers, so any Standard Webhooks
library (``standardwebhooks.Webhook(secret).verify(body, headers)``) can check them:

``webhook-id``        the notification's idempotency key (the same on every retry)
``webhook-timestamp`` Unix seconds when it was sent
``webhook-signature`` ``v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>``

The key is the base64-decoded part of a ``whsec_...`` secret (the standard's form), or the
UTF-8 bytes of any other secret. Signing the id and timestamp lets a receiver refuse a replayed
old request (e.g. older than 5 minutes). Inbound registry hooks keep MLflow's own scheme
(:mod:`monitor.registry.signatures`).
With ``auth: {header, env}`` it also sends that header with the environment variable's value, for
receivers that check a fixed header rather than a signature (n8n's Header Auth, docs/n8n.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from pydantic import Field, field_validator

from monitor.alerts.channels.base import Channel, ChannelConfig, Delivery, http_delivery, http_url
from monitor.alerts.header_auth import HeaderAuth, MissingSecret
from monitor.outbound import OutboundRefused, http_client
from monitor.plugins import channel


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def sign(secret: str, body: bytes, timestamp: str, msg_id: str) -> str:
    """The ``webhook-signature`` value for ``body`` with id ``msg_id`` sent at ``timestamp`` (Unix seconds)."""
    material = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), material, hashlib.sha256).digest()).decode()


def verify(secret: str, body: bytes, headers: dict[str, str], *, max_age: float = 300.0,
           now: float | None = None) -> bool:
    """What a receiver does: refuse a stale timestamp, then compare each ``v1,`` signature in constant time."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp = lower.get("webhook-id", ""), lower.get("webhook-timestamp", "")
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    expected = sign(secret, body, timestamp, msg_id)
    return age <= max_age and any(hmac.compare_digest(expected, candidate)
                                  for candidate in lower.get("webhook-signature", "").split())


@channel("webhook")
class WebhookChannel(Channel):
    """POSTs the notification as JSON, signed with Standard Webhooks headers when the channel has a secret."""

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
            headers |= {"webhook-id": idempotency_key, "webhook-timestamp": timestamp,
                        "webhook-signature": sign(self.secret, body, timestamp, idempotency_key)}
        if self.auth:
            try:
                name, value = self.auth.resolve()
            except MissingSecret as exc:  # configuration, not the receiver: retrying will not help
                return Delivery(False, str(exc), retryable=False)
            headers[name] = value
        import httpx  # here: validating a spec loads every channel, and need not import httpx

        try:
            with http_client("webhook url", self.timeout) as client:
                response = client.post(self.url, content=body, headers=headers)
        except OutboundRefused as exc:  # the policy, not the receiver: retrying will not help
            return Delivery(False, str(exc), retryable=False)
        except httpx.HTTPError as exc:
            return Delivery(False, f"{type(exc).__name__}: {exc}", retryable=True)
        return http_delivery(response)
