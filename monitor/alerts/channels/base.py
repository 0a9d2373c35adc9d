"""The channel interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt. ``retryable`` failures are tried again with backoff."""

    ok: bool
    detail: str = ""
    retryable: bool = False


class Channel(ABC):
    @classmethod
    @abstractmethod
    def from_config(cls, config: dict[str, Any]) -> "Channel": ...

    @abstractmethod
    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> Delivery:
        """Deliver one notification. Never raises for a peer's failure: returns a Delivery."""
