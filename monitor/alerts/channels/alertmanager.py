"""The ``alertmanager`` channel: ``POST {url}/api/v2/alerts`` of a Prometheus Alertmanager.

Alertmanager identifies an alert by its labels (``alertname`` = the rule, ``model``,
``severity``, ``segment`` when there is one) and expires a firing alert at its ``endsAt``, so
this channel re-sends every open alert on each check (``resend_while_open``) with ``endsAt`` a
few check intervals ahead, and sends ``endsAt`` = the resolve time when an alert resolves.
Grouping, inhibition and routing then happen in Alertmanager as its operators configure.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from monitor.alerts.channels.base import Channel, ChannelConfig, Delivery, http_delivery, http_url
from monitor.outbound import OutboundRefused, http_client
from monitor.plugins import channel


def alerts_body(payload: dict[str, Any], extra_labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The ``postableAlerts`` array of Alertmanager's API v2 for one grouped notification."""
    body = []
    for alert in payload.get("alerts") or []:
        labels = {"alertname": alert["rule"], "model": payload["model"], "severity": alert["severity"],
                  "kind": alert["kind"], "service": "modelwatch", **(extra_labels or {})}
        if alert.get("segment"):
            labels["segment"] = alert["segment"]
        resolved = alert["transition"] == "resolved"
        annotations = {"summary": str(alert.get("message") or alert["rule"]),
                       "value": "" if alert.get("value") is None else str(alert["value"]),
                       "baseline": "" if alert.get("baseline") is None else str(alert["baseline"]),
                       "version": str(payload.get("version") or ""), "run_id": str(payload.get("run_id"))}
        body.append({
            "labels": labels,
            "annotations": annotations,
            "startsAt": alert["first_seen"],
            "endsAt": (alert.get("resolved_at") or payload["sent_at"]) if resolved else payload["expires_at"],
            "generatorURL": payload.get("report_url") or "",
        })
    return body


@channel("alertmanager")
class AlertmanagerChannel(Channel):
    """Pushes alerts to a Prometheus Alertmanager, re-sending open ones so they do not expire."""

    resend_while_open = True

    class Config(ChannelConfig):
        """A Prometheus Alertmanager: ``url`` is its base, alerts go to ``{url}/api/v2/alerts``."""

        shorthand = "url"

        url: str
        timeout: float = Field(5.0, gt=0)
        labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on every alert.")

        _url = field_validator("url")(http_url)

    def __init__(self, url: str, timeout: float = 5.0, labels: dict[str, str] | None = None):
        self.url, self.timeout, self.labels = url.rstrip("/"), timeout, labels or {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "AlertmanagerChannel":
        return cls(config["url"], config.get("timeout", 5.0), config.get("labels"))

    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        import httpx  # here: validating a spec loads every channel, and need not import httpx

        try:
            with http_client("alertmanager url", self.timeout) as client:
                response = client.post(f"{self.url}/api/v2/alerts", json=alerts_body(payload, self.labels),
                                       headers={"User-Agent": "modelwatch"})
        except OutboundRefused as exc:
            return Delivery(False, str(exc), retryable=False)
        except httpx.HTTPError as exc:
            return Delivery(False, f"{type(exc).__name__}: {exc}", retryable=True)
        return http_delivery(response)
