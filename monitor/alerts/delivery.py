"""Delivering one notification, at most one sender at a time, every attempt on record.

A sender first *claims* the notification with a conditional UPDATE (``pending -> sending`` with a
lease) and opens a ``delivery_attempts`` row. A redelivered message finds it claimed or ``sent``
and does nothing. If the sender dies mid-send the lease expires and the sweeper hands it out
again (its open attempt is then closed as ``lost``): delivery is at-least-once, and the stable
``Idempotency-Key`` lets a receiver drop the repeat. A channel that keeps failing ends
``failed`` after ``MAX_ATTEMPTS``; each channel is its own notification, so it never holds up
another.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitor.alerts.channels import Delivery, build_channel
from monitor.db.schema import DeliveryAttempt, Notification, NotificationAlert, utcnow
from monitor.spec import ModelSpec

LEASE = dt.timedelta(seconds=120)
MAX_ATTEMPTS = 5
MAX_BACKOFF = 300.0


def backoff(attempt: int, base: float, rng: random.Random | None = None) -> float:
    """Seconds before retry number ``attempt``: ``base * 2**(attempt-1)``, capped, times 0.5-1.5 jitter."""
    jitter = 0.5 + (rng or random).random()
    return min(MAX_BACKOFF, base * 2 ** max(0, attempt - 1)) * jitter


def _close_lost(session: Session, notification_id: int, now: dt.datetime) -> None:
    session.execute(update(DeliveryAttempt)
                    .where(DeliveryAttempt.notification_id == notification_id, DeliveryAttempt.outcome == "sending")
                    .values(outcome="lost", ended_at=now, error="the sender was lost before it reported back"))


def claim(session: Session, notification_id: int, lease: dt.timedelta = LEASE) -> Notification | None:
    """Take the notification for one send, for ``lease`` (longer than the channel's timeout)."""
    now = utcnow()
    claimed = session.execute(
        update(Notification)
        .where(Notification.id == notification_id,
               Notification.attempts < MAX_ATTEMPTS,
               or_(Notification.state == "pending",
                   (Notification.state == "sending") & (Notification.lease_until < now)))
        .values(state="sending", attempts=Notification.attempts + 1, lease_until=now + lease)
    ).rowcount
    if not claimed:
        return None
    # one SELECT that takes the row as the UPDATE left it, even if this session held it already
    notification = session.get(Notification, notification_id, populate_existing=True)
    if notification.attempts > 1:  # only an earlier claim opened an attempt that may have been lost
        _close_lost(session, notification_id, now)
    session.add(DeliveryAttempt(notification_id=notification_id, attempt=notification.attempts, started_at=now,
                                outcome="sending"))
    session.flush()
    return notification


def send(spec: ModelSpec, notification: Notification) -> Delivery:
    index = int(notification.channel.split(":", 1)[0])
    if index >= len(spec.alerts):
        return Delivery(False, f"channel #{index} is no longer in the model's spec")
    channel_spec = spec.alerts[index]
    channel = None
    try:
        channel = build_channel(channel_spec.type, channel_spec.config)
        outcome = channel.send(notification.payload, idempotency_key=notification.dedup_key)
    except Exception as exc:  # a broken channel is a failed delivery, recorded, never a stuck one
        outcome = Delivery(False, f"{channel_spec.type} channel failed: {type(exc).__name__}: {exc}")
    redact = channel.redact if channel is not None else (lambda text: text)
    return Delivery(outcome.ok, redact(outcome.detail), outcome.retryable, outcome.http_status)


def record(session: Session, notification_id: int, delivery: Delivery, retry_in: float = 0.0,
           lease: dt.timedelta = LEASE) -> str:
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
        notification.lease_until = utcnow() + dt.timedelta(seconds=retry_in) + lease
    else:
        notification.state, notification.last_error = "failed", delivery.detail
    outcome = {"sent": "sent", "pending": "retry", "failed": "failed"}[notification.state]
    session.execute(update(DeliveryAttempt)
                    .where(DeliveryAttempt.notification_id == notification_id,
                           DeliveryAttempt.attempt == notification.attempts)
                    .values(outcome=outcome, ended_at=utcnow(), http_status=delivery.http_status,
                            error=None if delivery.ok else delivery.detail))
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


def notifications_of_alert(session: Session, alert_id: int) -> list[tuple[Notification, str]]:
    """Every grouped notification that carried this alert, with the transition it carried."""
    return [(n, t) for n, t in session.execute(
        select(Notification, NotificationAlert.transition)
        .join(NotificationAlert, NotificationAlert.notification_id == Notification.id)
        .where(NotificationAlert.alert_id == alert_id).order_by(Notification.id))]


def attempts_of(session: Session, notification_id: int) -> list[DeliveryAttempt]:
    return list(session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.notification_id == notification_id)
                                .order_by(DeliveryAttempt.attempt)))


def give_up(session: Session) -> int:
    """Mark failed the notifications whose last allowed attempt died mid-send (lease expired)."""
    now = utcnow()
    lost = list(session.scalars(select(Notification.id).where(
        Notification.state == "sending", Notification.attempts >= MAX_ATTEMPTS, Notification.lease_until < now)))
    for notification_id in lost:
        _close_lost(session, notification_id, now)
    if not lost:
        return 0
    return session.execute(
        update(Notification).where(Notification.id.in_(lost))
        .values(state="failed", last_error="the sender was lost on the last allowed attempt")
    ).rowcount
