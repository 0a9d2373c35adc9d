"""Notification delivery, on the ``alerts`` queue so a slow channel never holds up a check.

One task per (run, channel) notification: a channel that fails and retries occupies no worker
while it waits (the retry is a delayed message), and never delays another channel.
"""

from __future__ import annotations

from monitor.alerts import delivery
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.db.schema import Alert
from monitor.store import models as store_models
from tasks.base import RELIABLE
from workers.app import app


@app.task(name="tasks.alerts.deliver", bind=True, **RELIABLE)
def deliver(self, notification_id: int) -> dict:
    settings = get_settings()
    url = settings.effective_database_url
    with session_scope(url) as session:
        notification = delivery.claim(session, notification_id)
        if notification is None:
            return {"notification_id": notification_id, "skipped": True}
        alert = session.get(Alert, notification.alert_id)
        spec = store_models.spec_of(store_models.get_model_by_id(session, alert.model_id))
        session.expunge(notification)
    outcome = delivery.send(spec, notification)
    countdown = delivery.backoff(notification.attempts, settings.alert_retry_base)
    with session_scope(url) as session:
        state = delivery.record(session, notification_id, outcome, retry_in=countdown)
    if state == "pending":
        raise self.retry(countdown=countdown, exc=RuntimeError(outcome.detail))
    return {"notification_id": notification_id, "state": state, "detail": outcome.detail}
