"""Notification delivery, on the ``alerts`` queue so a slow channel never holds up a check.

One task per (run, channel) notification: a channel that fails and retries occupies no worker
while it waits (the retry is a delayed message), and never delays another channel.
Failpoints ``deliver.claimed`` (claimed, not sent yet) and ``deliver.after`` (recorded, message
not acked yet) are where the drills kill a worker.
"""

from __future__ import annotations

import datetime as dt

from monitor import failpoints
from monitor.alerts import delivery
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.store import models as store_models
from tasks.base import RELIABLE
from workers.app import app


@app.task(name="tasks.alerts.deliver", bind=True, **RELIABLE)
def deliver(self, notification_id: int) -> dict:
    settings = get_settings()
    url, lease = settings.effective_database_url, dt.timedelta(seconds=settings.alert_lease)
    with session_scope(url) as session:
        notification = delivery.claim(session, notification_id, lease)
        if notification is None:
            return {"notification_id": notification_id, "skipped": True}
        spec = store_models.spec_of(store_models.model_of_alert(session, notification.alert_id))
        session.expunge(notification)
    failpoints.hit(settings.failpoints, "deliver.claimed")
    outcome = delivery.send(spec, notification)
    countdown = delivery.backoff(notification.attempts, settings.alert_retry_base)
    with session_scope(url) as session:
        state = delivery.record(session, notification_id, outcome, retry_in=countdown, lease=lease)
    failpoints.hit(settings.failpoints, "deliver.after")
    if state == "pending":
        raise self.retry(countdown=countdown, exc=RuntimeError(outcome.detail))
    return {"notification_id": notification_id, "state": state, "detail": outcome.detail}
