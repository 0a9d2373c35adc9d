"""Which channels hear about which alerts after a check: one grouped notification per (run, channel).

For every channel of the model's spec, and every alert of the model routed to it by severity:

* a newly firing alert, or an open one this channel never heard of (e.g. its silence just
  ended), goes out as ``firing``;
* a still-firing alert is repeated (``repeat``) once ``alerting.repeat_interval`` has passed
  since the channel last heard of it, unless someone acknowledged it (an acknowledged alert
  gets no firing notification at all, e.g. when its silence ends);
* a resolved alert goes out as ``resolved`` only to channels that were told it fired (a
  firing notification not ``failed``), so nobody gets a resolve for a page they never saw, and
  to all of them, even if its severity changed since;
* a silenced alert is held (firing and repeats; a resolve still closes a page already sent).

Channels whose peer expires alerts that are not re-sent (Alertmanager, ``resend_while_open``)
get every open, unsilenced alert on each check, acknowledged or not.

All of one channel's transitions of one run make ONE notification row (``dedup_key`` =
``run:channel``) whose payload lists them under ``alerts``; ``notification_alerts`` records the
transitions it carries, which is what the rules above read back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from monitor.alerts import silences
from monitor.plugins import CHANNELS
from monitor.alerts.policy import OPEN_STATES
from monitor.db.schema import Alert, CheckRun, Notification, NotificationAlert, utcnow
from monitor.spec import ModelSpec
from monitor.store.common import insert_ignoring_conflicts



@dataclass(frozen=True)
class Heard:
    """What one channel was told about one alert before: its latest firing/repeat and whether
    any firing notification is delivered or still on its way."""

    last_firing_at: dt.datetime | None
    firing_delivered: bool


def channel_key(index: int, kind: str) -> str:
    return f"{index}:{kind}"


def history(session: Session, alert_ids: list[int]) -> dict[tuple[int, str], Heard]:
    """(alert id, channel key) -> what that channel heard of that alert."""
    if not alert_ids:
        return {}
    rows = session.execute(
        select(NotificationAlert.alert_id, NotificationAlert.transition, Notification.channel, Notification.state,
               Notification.created_at)
        .join(Notification, Notification.id == NotificationAlert.notification_id)
        .where(NotificationAlert.alert_id.in_(alert_ids)))
    last: dict[tuple[int, str], dt.datetime] = {}
    delivered: dict[tuple[int, str], bool] = defaultdict(bool)
    for alert_id, transition, channel, state, created_at in rows:
        if transition not in ("firing", "repeat"):
            continue
        key = (alert_id, channel)
        last[key] = max(last.get(key, created_at), created_at)
        delivered[key] |= state != "failed"
    return {key: Heard(at, delivered[key]) for key, at in last.items()}


def decide(alert: Alert, resolved_now: bool, heard: Heard | None, *, silenced: bool, resend_while_open: bool,
           repeat_interval: float, now: dt.datetime) -> str | None:
    """The transition one channel gets for one alert in this run, or None (pure; see module doc)."""
    if resolved_now:
        return "resolved" if heard is not None and heard.firing_delivered else None
    if alert.state not in OPEN_STATES or silenced:
        return None
    if resend_while_open:
        return "firing" if heard is None else "repeat"
    if alert.state == "acknowledged":  # someone has it: no repeats (nor a late first word)
        return None
    if heard is None:
        return "firing"
    if (now - heard.last_firing_at).total_seconds() >= repeat_interval:
        return "repeat"
    return None


def alert_json(alert: Alert, transition: str) -> dict[str, Any]:
    return {"alert_id": alert.id, "rule": alert.rule, "kind": alert.kind, "segment": alert.segment,
            "transition": transition, "state": alert.state, "severity": alert.severity, "message": alert.message,
            "value": alert.value, "baseline": alert.baseline, "first_seen": alert.first_seen.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "acknowledged_by": alert.acknowledged_by}


def group_payload(spec: ModelSpec, run: CheckRun, items: list[dict[str, Any]], report_url: str,
                  now: dt.datetime) -> dict[str, Any]:
    firing = any(i["transition"] in ("firing", "repeat") for i in items)
    expires = now + dt.timedelta(seconds=max(3 * spec.every, 300.0))
    return {"model": spec.name, "version": run.version, "run_id": run.id, "status": "firing" if firing else "resolved",
            "window": {"start": run.window_start.isoformat(), "end": run.window_end.isoformat()},
            "report_url": report_url, "sent_at": now.isoformat(), "expires_at": expires.isoformat(),
            "alerts": items}


def planned(alerts: list[Alert], resolved: list[int], only: list[int] | None = None) -> list[Alert]:
    """What :func:`plan` reads for itself, taken from ``alerts`` instead: the open ones and those
    in ``resolved`` (among ``only``, when given), by id.

    >>> a = [Alert(id=3, state="firing"), Alert(id=1, state="resolved"), Alert(id=2, state="resolved")]
    >>> [alert.id for alert in planned(a, resolved=[2])]
    [2, 3]
    """
    return sorted((a for a in alerts if (a.state in OPEN_STATES or a.id in resolved)
                   and (only is None or a.id in only)), key=lambda a: a.id)


def plan(session: Session, run: CheckRun, spec: ModelSpec, resolved: list[int], report_url: str, *,
         only: list[int] | None = None, tag: str = "", alerts: list[Alert] | None = None) -> list[int]:
    """Create this run's grouped notifications (pending); returns their ids.

    The alert stage plans for all the model's alerts. Another decision within a run (a
    recovery's verification escalating or standing down) plans for ``only`` its alerts, under its
    own ``tag`` so its notification is a row of its own, deduplicated like the stage's.

    ``alerts``: the model's alerts as the caller holds them in this transaction (the alert stage:
    the open ones it read and locked, those it opened, those it resolved), so they are not read
    again; :func:`planned` picks from them what the query would. An alert another process opened
    after the caller read them (a streaming alert, which takes no lock the stage holds) is then
    planned by the model's next run, not by this one.
    """
    now = utcnow()
    if alerts is None:
        statement = select(Alert).where(Alert.model_id == run.model_id,
                                        Alert.state.in_(OPEN_STATES) | Alert.id.in_(resolved or [-1]))
        if only is not None:
            statement = statement.where(Alert.id.in_(only or [-1]))
        candidates = list(session.scalars(statement.order_by(Alert.id)))
    else:
        candidates = planned(alerts, resolved, only)
    heard = history(session, [a.id for a in candidates])
    active = silences.active(session, now)
    held = {a.id for a in candidates if silences.silencing(active, spec.name, a, now) is not None}
    created: list[int] = []
    for index, channel in enumerate(spec.alerts):
        key = channel_key(index, channel.type)
        resend = CHANNELS.get(channel.type).resend_while_open
        items = []
        for alert in candidates:
            # a resolve goes wherever the firing went, even if the severity changed since
            if alert.id not in resolved and not channel.routes(alert.severity):
                continue
            transition = decide(alert, alert.id in resolved, heard.get((alert.id, key)), silenced=alert.id in held,
                                resend_while_open=resend, repeat_interval=spec.alerting.repeat_interval, now=now)
            if transition is not None:
                items.append((alert, transition))
        if not items:
            continue
        payload = group_payload(spec, run, [alert_json(a, t) for a, t in items], report_url, now)
        ids = insert_ignoring_conflicts(session, Notification.__table__, [{
            "alert_id": items[0][0].id, "run_id": run.id, "channel": key, "transition": payload["status"],
            "dedup_key": f"{run.id}:{tag + ':' if tag else ''}{key}", "state": "pending", "attempts": 0, "payload": payload, "created_at": now}])
        if not ids:
            continue
        session.execute(insert(NotificationAlert), [
            {"notification_id": ids[0], "alert_id": a.id, "transition": t} for a, t in items])
        created += ids
    return created
