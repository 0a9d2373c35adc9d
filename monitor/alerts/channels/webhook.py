"""The generic ``webhook`` channel: the notification as a JSON POST.

Receivers get an ``Idempotency-Key`` header (stable per notification) so that a delivery retried
after an ambiguous failure can be recognised, and, when the channel has a ``secret``, an
``X-Modelwatch-Signature: sha256=<hex HMAC of the body>`` header to verify it came from us.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from monitor.alerts.channels.base import Channel, Delivery


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel(Channel):
    def __init__(self, url: str, secret: str | None = None, timeout: float = 5.0):
        self.url, self.secret, self.timeout = url, secret, timeout

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "WebhookChannel":
        return cls(config["url"], config.get("secret"), config.get("timeout", 5.0))

    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        body = json.dumps(payload, default=str, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key,
                   "User-Agent": "modelwatch"}
        if self.secret:
            headers["X-Modelwatch-Signature"] = sign(self.secret, body)
        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return Delivery(False, f"{type(exc).__name__}: {exc}", retryable=True)
        if response.is_success:
            return Delivery(True, f"HTTP {response.status_code}")
        retryable = response.status_code >= 500 or response.status_code in (408, 429)
        return Delivery(False, f"HTTP {response.status_code}: {response.text[:200]}", retryable=retryable)
