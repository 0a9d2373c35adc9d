"""The ``slack`` channel: a Slack incoming webhook, one readable message per grouped notification.

The message names the model, what changed (firing / still firing / resolved, per rule), the
numbers (value and baseline), and links the run's report. The webhook URL is the secret: it is
redacted from every recorded error.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from monitor.alerts.channels.base import Channel, ChannelConfig, Delivery, http_delivery, http_url
from monitor.alerts.messages import alert_line, headline
from monitor.outbound import OutboundRefused, http_client
from monitor.plugins import channel

_ICONS = {"firing": ":red_circle:", "repeat": ":large_orange_circle:", "resolved": ":large_green_circle:"}


def message(payload: dict[str, Any]) -> dict[str, Any]:
    """Slack's ``{text, blocks}``: ``text`` is the notification fallback, blocks the readable body."""
    title = headline(payload)
    lines = [f"{_ICONS.get(a.get('transition'), '')} {alert_line(a)}" for a in payload.get("alerts") or []]
    window = payload.get("window") or {}
    context = (f"version {payload.get('version')} | window {window.get('start')} .. {window.get('end')} | "
               f"<{payload.get('report_url')}|report>")
    return {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000] or "-"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


@channel("slack")
class SlackChannel(Channel):
    """Posts a readable message to a Slack incoming webhook; the webhook URL is redacted from errors."""

    class Config(ChannelConfig):
        """A Slack incoming webhook (the URL is the secret): ``{slack: URL}``."""

        shorthand = "url"

        url: str
        timeout: float = Field(5.0, gt=0)

        _url = field_validator("url")(http_url)

    def __init__(self, url: str, timeout: float = 5.0):
        self.url, self.timeout = url, timeout

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SlackChannel":
        return cls(config["url"], config.get("timeout", 5.0))

    def secrets(self) -> list[str]:
        return [self.url]

    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        import httpx  # here: validating a spec loads every channel, and need not import httpx

        try:
            with http_client("slack url", self.timeout) as client:
                response = client.post(self.url, json=message(payload), headers={"User-Agent": "modelwatch"})
        except OutboundRefused as exc:  # names the host, never the URL (the URL is the secret)
            return Delivery(False, self.redact(str(exc)), retryable=False)
        except httpx.HTTPError as exc:
            return Delivery(False, self.redact(f"{type(exc).__name__}: {exc}"), retryable=True)
        delivery = http_delivery(response)
        return Delivery(delivery.ok, self.redact(delivery.detail), delivery.retryable, delivery.http_status)
