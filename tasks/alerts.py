"""Notification delivery, on the ``alerts`` queue so a slow channel never holds up a check."""

from __future__ import annotations

import random

from monitor.alerts import delivery
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.db.schema import Alert
from monitor.store import models as store_models
from tasks.base import RELIABLE
from workers.app import app


@app.task(name="tasks.alerts.deliver", bind=True, **RELIABLE)
def deliver(self, notification_id: int) -> dict:
    url = get_settings().effective_database_url
    with session_scope(url) as session:
        notification = delivery.claim(session, notification_id)
        if notification is None:
            return {"notification_id": notification_id, "skipped": True}
        alert = session.get(Alert, notification.alert_id)
        spec = store_models.spec_of(store_models.get_model_by_id(session, alert.model_id))
    outcome = delivery.send(spec, notification)
    countdown = min(300, 2 ** notification.attempts) * (0.5 + random.random())  # backoff with jitter
    with session_scope(url) as session:
        state = delivery.record(session, notification_id, outcome, retry_in=countdown)
    if state == "pending":
        raise self.retry(countdown=countdown, exc=RuntimeError(outcome.detail))
    return {"notification_id": notification_id, "state": state, "detail": outcome.detail}
