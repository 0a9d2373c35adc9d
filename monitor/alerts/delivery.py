"""Delivering one notification, at most one sender at a time.

A sender first *claims* the notification with a conditional UPDATE (``pending -> sending`` with a
lease). A redelivered message finds it claimed or ``sent`` and does nothing. If the sender dies
mid-send the lease expires and the sweeper hands it out again: delivery is then at-least-once,
and the stable ``Idempotency-Key`` lets a receiver drop the repeat.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitor.alerts.channels import Delivery, build_channel
from monitor.db.schema import Notification, utcnow
from monitor.spec import ModelSpec

LEASE = dt.timedelta(seconds=120)
MAX_ATTEMPTS = 5


def claim(session: Session, notification_id: int) -> Notification | None:
    now = utcnow()
    claimed = session.execute(
        update(Notification)
        .where(Notification.id == notification_id,
               Notification.attempts < MAX_ATTEMPTS,
               or_(Notification.state == "pending",
                   (Notification.state == "sending") & (Notification.lease_until < now)))
        .values(state="sending", attempts=Notification.attempts + 1, lease_until=now + LEASE)
    ).rowcount
    return session.get(Notification, notification_id) if claimed else None


def send(spec: ModelSpec, notification: Notification) -> Delivery:
    index = int(notification.channel.split(":", 1)[0])
    if index >= len(spec.alerts):
        return Delivery(False, f"channel #{index} is no longer in the model's spec")
    channel_spec = spec.alerts[index]
    try:
        channel = build_channel(channel_spec.type, channel_spec.config)
        return channel.send(notification.payload, idempotency_key=notification.dedup_key)
    except Exception as exc:  # a broken channel is a failed delivery, recorded, never a stuck one
        return Delivery(False, f"{channel_spec.type} channel failed: {type(exc).__name__}: {exc}")


def record(session: Session, notification_id: int, delivery: Delivery, retry_in: float = 0.0) -> str:
    """Store the attempt's outcome; returns the new state (``sent``, ``pending`` to retry, ``failed``).

    A notification put back to ``pending`` keeps a lease until its retry is due, so the sweeper
    does not cut the backoff short.
    """
    notification = session.get(Notification, notification_id)
    notification.lease_until = None
    if delivery.ok:
        notification.state, notification.sent_at, notification.last_error = "sent", utcnow(), None
    elif delivery.retryable and notification.attempts < MAX_ATTEMPTS:
        notification.state, notification.last_error = "pending", delivery.detail
        notification.lease_until = utcnow() + dt.timedelta(seconds=retry_in + LEASE.total_seconds())
    else:
        notification.state, notification.last_error = "failed", delivery.detail
    return notification.state


def stale(session: Session, older_than: dt.timedelta) -> list[int]:
    """Notifications nobody is delivering: pending too long, or a sender's lease ran out."""
    now = utcnow()
    return list(session.scalars(
        select(Notification.id).where(Notification.attempts < MAX_ATTEMPTS, or_(
            (Notification.state == "pending") & (Notification.created_at < now - older_than)
            & (Notification.lease_until.is_(None) | (Notification.lease_until < now)),
            (Notification.state == "sending") & (Notification.lease_until < now),
        ))
    ))


def notifications_of_alert(session: Session, alert_id: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.alert_id == alert_id)
                                .order_by(Notification.id)))


def give_up(session: Session) -> int:
    """Mark failed the notifications whose last allowed attempt died mid-send (lease expired)."""
    return session.execute(
        update(Notification)
        .where(Notification.state == "sending", Notification.attempts >= MAX_ATTEMPTS,
               Notification.lease_until < utcnow())
        .values(state="failed", last_error="the sender was lost on the last allowed attempt")
    ).rowcount
