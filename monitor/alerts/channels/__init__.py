"""Alert channels: one small module each, one interface, ``send(payload) -> Delivery``.

``CHANNELS`` maps the spec's channel name (``webhook``, ``log``) to its class; a new channel is
one new module that registers itself here.
"""

from __future__ import annotations

from monitor.alerts.channels.base import Channel, Delivery
from monitor.alerts.channels.log import LogChannel
from monitor.alerts.channels.webhook import WebhookChannel

CHANNELS: dict[str, type[Channel]] = {"log": LogChannel, "webhook": WebhookChannel}


def build_channel(kind: str, config: dict) -> Channel:
    return CHANNELS[kind].from_config(config)


__all__ = ["CHANNELS", "Channel", "Delivery", "build_channel"]
