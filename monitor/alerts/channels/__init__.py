"""Alert channels: one small module each, one interface, ``send(payload) -> Delivery``.

``CHANNELS`` maps the spec's channel name (``log``, ``webhook``, ``slack``, ``email``,
``alertmanager``) to its class; a new channel is one new module that registers itself here
(and its settings model in ``monitor.spec.CHANNEL_TYPES``).
"""

from __future__ import annotations

from monitor.alerts.channels.alertmanager import AlertmanagerChannel
from monitor.alerts.channels.base import Channel, Delivery
from monitor.alerts.channels.email import EmailChannel
from monitor.alerts.channels.log import LogChannel
from monitor.alerts.channels.slack import SlackChannel
from monitor.alerts.channels.webhook import WebhookChannel

CHANNELS: dict[str, type[Channel]] = {"log": LogChannel, "webhook": WebhookChannel, "slack": SlackChannel,
                                      "email": EmailChannel, "alertmanager": AlertmanagerChannel}


def build_channel(kind: str, config: dict) -> Channel:
    return CHANNELS[kind].from_config(config)


__all__ = ["CHANNELS", "Channel", "Delivery", "build_channel"]
