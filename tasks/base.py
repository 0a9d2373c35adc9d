"""Options every modelwatch task decides on explicitly."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from monitor.errors import TransientError

#: Retried with exponential backoff and jitter; anything else fails the task for good.
TRANSIENT = (TransientError, OperationalError, ConnectionError, TimeoutError)

RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}
