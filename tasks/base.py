"""Options every modelwatch task decides on explicitly."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy.exc import OperationalError

from monitor.errors import TransientError
from tasks import heap  # noqa: F401  (freezes the imported heap after a task: tasks/heap.py)
from workers.app import app

logger = logging.getLogger(__name__)

#: Retried with exponential backoff and jitter; anything else fails the task for good. A broker
#: error (kombu's OperationalError: a publish that found Redis down) is as passing as a database one.
TRANSIENT = (TransientError, OperationalError, ConnectionError, TimeoutError, KombuOperationalError)

RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}

#: The broker could not be reached (the message was not sent).
BROKER_ERRORS = (OSError, KombuOperationalError)


def revoke(task_id: str | None) -> None:
    """Tell the workers to drop a cancelled message. Best effort: its claim refuses it anyway."""
    if not task_id:
        return
    try:
        app.control.revoke(task_id)
    except BROKER_ERRORS as exc:
        logger.warning("could not revoke task %s (%s); its claim will refuse it", task_id, exc)
