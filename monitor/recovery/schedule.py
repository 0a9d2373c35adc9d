"""Persisting recovery actions and the atomic transitions that make them run once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.db.schema import Alert, CheckRun, RecoveryAction, utcnow
from monitor.spec import ModelSpec, RecoveryPolicy
from monitor.store import models as store_models
from monitor.store.common import insert_ignoring_conflicts


def plan(session: Session, run: CheckRun, spec: ModelSpec, fired_alerts: list[Alert]) -> list[int]:
    """Create the actions that the spec's policies ask for alerts first raised by ``run``.

    The unique ``dedup_key`` (one action per alert and kind) and the partial unique index (one
    pending action per model and kind) make this safe to run twice and under races.
    """
    now = utcnow()
    rows = []
    for alert in fired_alerts:
        if stale_reason(session, run.model_id, run.version):
            continue
        policy = choose_policy(session, run.model_id, spec, alert)
        if policy is None:
            continue
        rows.append({
            "model_id": run.model_id, "kind": policy.action, "state": "scheduled", "alert_id": alert.id,
            "run_id": run.id, "dedup_key": f"alert:{alert.id}:{policy.action}",
            "reason": f"{alert.rule}: {alert.message}",
            "params": {"rule": alert.rule, "kind": alert.kind, "callable": policy.callable,
                       "policy": policy.model_dump(mode="json")},
            "eta": now + dt.timedelta(seconds=policy.after), "executions": 0, "created_at": now,
        })
    return insert_ignoring_conflicts(session, RecoveryAction.__table__, rows)


def stale_reason(session: Session, model_id: int, version: str | None) -> str | None:
    """Why an action about ``version`` no longer applies: another version serves by now.

    A late alert about version 1 must not roll back (or retrain away) the version 3 that a
    recovery has meanwhile put in its place.
    """
    serving = store_models.serving_version(session, model_id)
    if version is not None and serving is not None and serving.version != version:
        return f"version {serving.version} serves now; the alert was about version {version}"
    return None


def choose_policy(session: Session, model_id: int, spec: ModelSpec, alert: Alert) -> RecoveryPolicy | None:
    """The first of the alert's policies that can act now.

    A policy whose action ran for this model within its cooldown is passed over. A rollback
    applies only when there is an earlier version to go back to (and, with ``max_version_age``,
    only while the serving version is that new): a fresh version that misbehaves is rolled back,
    a long-serving one that degrades falls through to, say, retrain.
    """
    for policy in spec.policies_for(alert.rule, alert.kind):
        cooldown = policy.cooldown if policy.cooldown is not None else spec.window
        if _cooling_down(session, model_id, policy.action, cooldown):
            continue
        if policy.action != "rollback":
            return policy
        if store_models.previous_serving(session, model_id) is None:
            continue
        serving = store_models.serving_version(session, model_id)
        if policy.max_version_age is not None and serving is not None and serving.promoted_at is not None:
            if (utcnow() - serving.promoted_at).total_seconds() > policy.max_version_age:
                continue
        return policy
    return None


def _cooling_down(session: Session, model_id: int, kind: str, cooldown: float) -> bool:
    """Did the same action run for this model less than ``cooldown`` seconds ago?"""
    since = utcnow() - dt.timedelta(seconds=cooldown)
    return session.scalar(select(RecoveryAction.id).where(
        RecoveryAction.model_id == model_id, RecoveryAction.kind == kind,
        RecoveryAction.state.in_(("succeeded", "failed")), RecoveryAction.finished_at >= since).limit(1)) is not None


def undispatched(session: Session, run_id: str) -> list[RecoveryAction]:
    return list(session.scalars(select(RecoveryAction).where(
        RecoveryAction.run_id == run_id, RecoveryAction.state == "scheduled",
        RecoveryAction.dispatched_at.is_(None))))


def mark_dispatched(session: Session, action_id: int, task_id: str) -> None:
    session.execute(update(RecoveryAction).where(RecoveryAction.id == action_id)
                    .values(dispatched_at=utcnow(), celery_task_id=task_id))


def claim(session: Session, action_id: int) -> RecoveryAction | None:
    """``scheduled -> running`` in one conditional UPDATE; only one caller ever wins it."""
    now = utcnow()
    won = session.execute(
        update(RecoveryAction)
        .where(RecoveryAction.id == action_id, RecoveryAction.state == "scheduled", RecoveryAction.eta <= now)
        .values(state="running", started_at=now, executions=RecoveryAction.executions + 1)
    ).rowcount
    return session.get(RecoveryAction, action_id) if won else None


def finish(session: Session, action_id: int, ok: bool, result: dict, error: str | None = None) -> None:
    session.execute(update(RecoveryAction).where(RecoveryAction.id == action_id).values(
        state="succeeded" if ok else "failed", finished_at=utcnow(), result=result, error=error))


def cancel(session: Session, action_id: int, reason: str) -> bool:
    """Cancel a scheduled action; False if it already started or ended."""
    return bool(session.execute(
        update(RecoveryAction)
        .where(RecoveryAction.id == action_id, RecoveryAction.state == "scheduled")
        .values(state="cancelled", finished_at=utcnow(), error=reason)
    ).rowcount)


def cancel_for_alerts(session: Session, alert_ids: list[int]) -> list[RecoveryAction]:
    """Cancel the pending actions of alerts that resolved before the action ran."""
    if not alert_ids:
        return []
    actions = list(session.scalars(select(RecoveryAction).where(
        RecoveryAction.alert_id.in_(alert_ids), RecoveryAction.state == "scheduled")))
    return [a for a in actions if cancel(session, a.id, f"alert {a.alert_id} resolved before the action ran")]


def overdue(session: Session, grace: dt.timedelta) -> list[RecoveryAction]:
    """Scheduled actions whose ETA passed ``grace`` ago without a run: their message was lost."""
    return list(session.scalars(select(RecoveryAction).where(
        RecoveryAction.state == "scheduled", RecoveryAction.eta < utcnow() - grace)))


def list_actions(session: Session, model_id: int | None = None, limit: int = 200) -> list[RecoveryAction]:
    statement = select(RecoveryAction).order_by(RecoveryAction.id.desc()).limit(limit)
    if model_id is not None:
        statement = statement.where(RecoveryAction.model_id == model_id)
    return list(session.scalars(statement))


def actions_of_run(session: Session, run: CheckRun) -> list[RecoveryAction]:
    return list(session.scalars(select(RecoveryAction).where(RecoveryAction.run_id == run.id)
                                .order_by(RecoveryAction.id)))
