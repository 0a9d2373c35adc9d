"""The ``log`` channel: the notification as one structured log line (always available)."""

from __future__ import annotations

import json
import logging
from typing import Any

from typing import Literal

from monitor.alerts.channels.base import Channel, ChannelConfig, Delivery
from monitor.alerts.messages import headline
from monitor.plugins import channel

logger = logging.getLogger("modelwatch.alerts")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@channel("log")
class LogChannel(Channel):
    """Writes each notification to the ``modelwatch.alerts`` logger, so alerts exist without any peer."""

    class Config(ChannelConfig):
        """``{log: {level: warning}}``; ``{log: {}}`` is the default channel of every model."""

        level: Literal["info", "warning", "error"] = "warning"

    def __init__(self, level: str = "warning"):
        self.level = _LEVELS[level]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LogChannel":
        return cls(config.get("level", "warning"))

    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        logger.log(self.level, "%s %s", headline(payload),
                   json.dumps({"key": idempotency_key, **payload}, default=str))
        return Delivery(True, "logged")
