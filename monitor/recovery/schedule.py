"""Persisting recovery actions and the atomic transitions that make them run once.

States: ``pending_approval`` (a person must approve; ``expired`` if nobody does in time) ->
``scheduled`` (waits for its ETA) -> ``running`` (won the one atomic claim) -> ``succeeded`` |
``failed``; ``cancelled`` from either waiting state. Every move is a conditional UPDATE on the
state it leaves, so two processes never both make it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor import audit, events
from monitor.db.schema import Alert, AuditEvent, CheckRun, RecoveryAction, utcnow
from monitor.spec import ModelSpec, RecoveryPolicy
from monitor.store import models as store_models
from monitor.store.common import insert_ignoring_conflicts

#: The alert a failed recovery raises (``monitor.recovery.verification``); never acted on automatically.
ESCALATION_RULE = "recovery_failed"
#: States in which an action is still to run: at most one per (model, kind), by a partial unique index.
PENDING = ("pending_approval", "scheduled", "running")
WAITING = ("pending_approval", "scheduled")


@dataclass(frozen=True)
class Choice:
    """The policy chosen for an alert, and why a person must approve it (None: nobody need)."""

    policy: RecoveryPolicy
    approval_reason: str | None


def plan(session: Session, run: CheckRun, spec: ModelSpec, fired_alerts: list[Alert]) -> list[int]:
    """Create the actions that the spec's policies ask for alerts first raised by ``run``.

    The unique ``dedup_key`` (one action per alert and kind) and the partial unique index (one
    pending action per model and kind) make this safe to run twice and under races.
    """
    now = utcnow()
    rows = []
    for alert in fired_alerts:
        if alert.rule == ESCALATION_RULE:  # a failed recovery is for people; acting on it would loop
            continue
        if stale_reason(session, run.model_id, run.version):
            continue
        choice = choose_policy(session, run.model_id, spec, alert)
        if choice is None:
            continue
        policy, waits = choice.policy, choice.approval_reason is not None
        rows.append({
            "model_id": run.model_id, "kind": policy.action, "alert_id": alert.id,
            "state": "pending_approval" if waits else "scheduled",
            "expires_at": now + dt.timedelta(seconds=policy.approval_timeout) if waits else None,
            "run_id": run.id, "dedup_key": f"alert:{alert.id}:{policy.action}",
            "reason": f"{alert.rule}: {alert.message}",
            "params": {"rule": alert.rule, "kind": alert.kind, "severity": alert.severity,
                       "segment": alert.segment, "callable": policy.callable,
                       "approval_reason": choice.approval_reason, "policy": policy.model_dump(mode="json")},
            "eta": now + dt.timedelta(seconds=policy.after), "executions": 0, "created_at": now,
        })
    created = insert_ignoring_conflicts(session, RecoveryAction.__table__, rows)
    for action in session.scalars(select(RecoveryAction).where(RecoveryAction.id.in_(created))):
        events.action_event(session, "recovery.scheduled", action.id, state=action.state, eta=action.eta,
                            alert_id=action.alert_id)
    return created


def stale_reason(session: Session, model_id: int, version: str | None) -> str | None:
    """Why an action about ``version`` no longer applies: another version serves by now.

    A late alert about version 1 must not roll back (or retrain away) the version 3 that a
    recovery has meanwhile put in its place.
    """
    serving = store_models.serving_version(session, model_id)
    if version is not None and serving is not None and serving.version != version:
        return f"version {serving.version} serves now; the alert was about version {version}"
    return None


def choose_policy(session: Session, model_id: int, spec: ModelSpec, alert: Alert) -> Choice | None:
    """The first of the alert's policies (by rule, else kind, else severity) that can act now.

    A policy whose action ran for this model within its cooldown is passed over. A rollback
    applies only when there is an earlier version to go back to (and, with ``max_version_age``,
    only while the serving version is that new): a fresh version that misbehaves is rolled back,
    a long-serving one that degrades falls through to, say, retrain.

    The chosen action waits for a person when its policy says so, and also when an automatic
    recovery of the same rule failed its verification within the cooldown and nobody has acted
    since: a failed recovery escalates instead of looping.
    """
    for policy in spec.policies_for(alert.rule, alert.kind, alert.severity):
        cooldown = policy.cooldown if policy.cooldown is not None else spec.window
        if _cooling_down(session, model_id, policy.action, cooldown):
            continue
        if policy.action == "rollback" and not _can_roll_back(session, model_id, policy):
            continue
        held = failed_recovery_hold(session, model_id, alert.rule, spec.window)
        if policy.approval:
            return Choice(policy, "the policy requires approval")
        return Choice(policy, held)
    return None


def _can_roll_back(session: Session, model_id: int, policy: RecoveryPolicy) -> bool:
    if store_models.previous_serving(session, model_id) is None:
        return False
    serving = store_models.serving_version(session, model_id)
    if policy.max_version_age is not None and serving is not None and serving.promoted_at is not None:
        if (utcnow() - serving.promoted_at).total_seconds() > policy.max_version_age:
            return False
    return True


def failed_recovery_hold(session: Session, model_id: int, rule: str, default_cooldown: float) -> str | None:
    """Why a new action for ``rule`` must wait for a person, or None.

    An action for the same rule whose verification found the model ``not_recovered`` holds
    further automatic actions for that rule while its own cooldown lasts (its policy's
    ``cooldown``, else ``default_cooldown``), until a person acts on the model after it: any
    audit event by an actor other than ``system`` (an approval, a cancel, an acknowledgement).
    """
    now = utcnow()
    for failed in session.scalars(select(RecoveryAction).where(
            RecoveryAction.model_id == model_id, RecoveryAction.verification_state == "not_recovered")
            .order_by(RecoveryAction.id.desc())):
        if (failed.params or {}).get("rule") != rule or failed.finished_at is None:
            continue
        cooldown = ((failed.params or {}).get("policy") or {}).get("cooldown")
        if now - failed.finished_at > dt.timedelta(seconds=cooldown if cooldown is not None else default_cooldown):
            return None
        checked = dt.datetime.fromisoformat((failed.verification or {}).get("checked_at") or failed.finished_at.isoformat())
        human = session.scalar(select(AuditEvent.id).where(
            AuditEvent.model_id == model_id, AuditEvent.actor != audit.SYSTEM, AuditEvent.at >= checked).limit(1))
        if human is not None:
            return None
        return (f"recovery action {failed.id} ({failed.kind}) did not restore {rule}; "
                "a person decides until someone acts or the cooldown passes")
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
    events.action_event(session, "recovery.ran", action_id, ok=ok, summary=(result or {}).get("summary") or error or "")


def cancel(session: Session, action_id: int, reason: str) -> bool:
    """Cancel an action that waits (for approval or for its ETA); False if it started or ended."""
    won = bool(session.execute(
        update(RecoveryAction)
        .where(RecoveryAction.id == action_id, RecoveryAction.state.in_(WAITING))
        .values(state="cancelled", finished_at=utcnow(), error=reason)
    ).rowcount)
    if won:
        events.action_event(session, "recovery.cancelled", action_id, state="cancelled", reason=reason)
    return won


def cancel_for_alerts(session: Session, alert_ids: list[int], run_id: str | None = None) -> list[RecoveryAction]:
    """Cancel the waiting actions of alerts that resolved before the action ran (audited, ``system``)."""
    if not alert_ids:
        return []
    actions = list(session.scalars(select(RecoveryAction).where(
        RecoveryAction.alert_id.in_(alert_ids), RecoveryAction.state.in_(WAITING))))
    cancelled = []
    for action in actions:
        reason = f"alert {action.alert_id} resolved before the action ran" + (f" (check {run_id})" if run_id else "")
        if cancel(session, action.id, reason):
            audit.record(session, actor=audit.SYSTEM, action="cancel", subject=f"recovery:{action.id}",
                         reason=reason, model_id=action.model_id, details={"kind": action.kind})
            cancelled.append(action)
    return cancelled


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


def to_json(action: RecoveryAction, model: str | None = None) -> dict[str, Any]:
    """One action as the API, the CLI's ``--json`` and the dashboard show it."""
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    params = action.params or {}
    return {"id": action.id, "model": model, "model_id": action.model_id, "kind": action.kind,
            "state": action.state, "rule": params.get("rule"), "reason": action.reason,
            "alert_id": action.alert_id, "run_id": action.run_id, "eta": iso(action.eta),
            "created_at": iso(action.created_at), "expires_at": iso(action.expires_at),
            "approval_reason": params.get("approval_reason"), "celery_task_id": action.celery_task_id,
            "started_at": iso(action.started_at), "finished_at": iso(action.finished_at),
            "executions": action.executions, "result": action.result, "error": action.error,
            "verify_at": iso(action.verify_at), "verification_state": action.verification_state,
            "verification": action.verification}
