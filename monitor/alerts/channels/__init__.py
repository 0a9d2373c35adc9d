"""Alert channels: one small module each, one interface, ``send(payload) -> Delivery``.

Each module registers its class with ``@channel("name")`` and keeps its settings beside it as the
class's ``Config``; ``monitor.plugins.CHANNELS`` finds them by the spec's name. A new channel is
one new module here and nothing else (docs/extending.md, "A channel").
"""

from __future__ import annotations

from typing import Any

from monitor.alerts.channels.base import Channel, ChannelConfig, Delivery
from monitor.plugins import CHANNELS


def build_channel(kind: str, config: dict[str, Any]) -> Channel:
    """The channel the spec names ``kind``, built from its (already validated) settings."""
    return CHANNELS.get(kind).from_config(config)


__all__ = ["CHANNELS", "Channel", "ChannelConfig", "Delivery", "build_channel"]
