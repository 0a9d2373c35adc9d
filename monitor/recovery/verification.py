"""Did the recovery work? A follow-up check after every action that changed something.

After a rollback, retrain or recalibrate succeeds, its action gets ``verify_at`` (the policy's
``verify_after``, default the model's window, so the check sees traffic served after the change)
and ``verification_state = due``. At that time a check chain with trigger ``verification`` runs
(claimed ``due -> checking`` atomically, so a redelivered or re-sent message opens one run); its
``schedule_recovery`` stage records the outcome on the action:

* ``recovered``: the rule that caused the action evaluated ``ok``;
* ``not_recovered``: it still fires. The action escalates: a ``critical`` alert
  ``recovery_failed`` (segment = the rule) notifies the model's channels, and further automatic
  actions for the rule wait for a person (see ``schedule.failed_recovery_hold``) instead of looping;
* ``inconclusive``: the rule could not be evaluated (e.g. too few labels); nothing escalates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor import events
from monitor.db.schema import Alert, CheckRun, RecoveryAction, utcnow
from monitor.recovery.schedule import ESCALATION_RULE
from monitor.spec import ModelSpec, RecoveryPolicy
from monitor.store import runs as store_runs
from monitor.store.common import insert_ignoring_conflicts
#: Actions that change nothing automatically have nothing to verify.
UNVERIFIED = frozenset({"notify"})


def schedule_follow_up(session: Session, action: RecoveryAction, spec: ModelSpec) -> dt.datetime | None:
    """Set the follow-up check of a succeeded action; returns when it is due (None: none needed)."""
    if action.kind in UNVERIFIED:
        return None
    raw = (action.params or {}).get("policy")
    verify_after = RecoveryPolicy.model_validate(raw).verify_after if raw else None
    delay = verify_after if verify_after is not None else spec.window
    due = utcnow() + dt.timedelta(seconds=delay)
    session.execute(update(RecoveryAction).where(RecoveryAction.id == action.id)
                    .values(verify_at=due, verification_state="due", verification={"due_at": due.isoformat()}))
    return due


def claim(session: Session, action_id: int) -> RecoveryAction | None:
    """``due -> checking`` in one conditional UPDATE; only one caller opens the verification run."""
    won = session.execute(
        update(RecoveryAction)
        .where(RecoveryAction.id == action_id, RecoveryAction.verification_state == "due",
               RecoveryAction.verify_at <= utcnow())
        .values(verification_state="checking")
    ).rowcount
    return session.get(RecoveryAction, action_id) if won else None


def attach_run(session: Session, action: RecoveryAction, run_id: str) -> None:
    action.verification = {**(action.verification or {}), "run_id": run_id}
    session.flush()


def overdue(session: Session, grace: dt.timedelta) -> list[int]:
    """Verifications due more than ``grace`` ago that never started: their message was lost."""
    return list(session.scalars(select(RecoveryAction.id).where(
        RecoveryAction.verification_state == "due", RecoveryAction.verify_at < utcnow() - grace)))


def close_failed(session: Session) -> list[int]:
    """Verifications whose check run failed are ``inconclusive`` (with the run's error), not stuck."""
    closed = []
    for action in session.scalars(select(RecoveryAction).where(RecoveryAction.verification_state == "checking")):
        run_id = (action.verification or {}).get("run_id")
        run = session.get(CheckRun, run_id) if run_id else None
        if run is None or run.status != "failed":
            continue
        session.execute(update(RecoveryAction).where(
            RecoveryAction.id == action.id, RecoveryAction.verification_state == "checking").values(
            verification_state="inconclusive",
            verification={**(action.verification or {}), "outcome": "inconclusive",
                          "checked_at": utcnow().isoformat(), "error": f"verification check failed: {run.error}"}))
        events.action_event(session, "recovery.verified", action.id, outcome="inconclusive")
        closed.append(action.id)
    return closed


def _action_of_run(session: Session, run: CheckRun) -> RecoveryAction | None:
    candidates = session.scalars(select(RecoveryAction).where(
        RecoveryAction.model_id == run.model_id, RecoveryAction.verification_state == "checking"))
    return next((a for a in candidates if (a.verification or {}).get("run_id") == run.id), None)


def outcome_of(findings: list, rule: str, segment: str) -> tuple[str, dict[str, Any]]:
    """``recovered`` / ``not_recovered`` / ``inconclusive`` from a run's findings for ``rule``."""
    matching = [f for f in findings if f.rule == rule and f.segment == segment]
    if any(f.status == "firing" for f in matching):
        state = "not_recovered"
    elif any(f.status == "ok" for f in matching):
        state = "recovered"
    else:
        state = "inconclusive"
    evidence = [{"status": f.status, "metric": f.metric, "value": f.value, "baseline": f.baseline,
                 "threshold": f.threshold, "message": f.message} for f in matching]
    return state, {"findings": evidence}


def record(session: Session, run: CheckRun, spec: ModelSpec, report_url: str) -> dict[str, Any] | None:
    """Record the outcome of the action this verification run checks; escalate a failure.

    Idempotent: the outcome is written only while the action is ``checking``, the escalation alert
    and its notifications have unique keys. Returns what happened (None: not a verification run).
    """
    action = _action_of_run(session, run)
    if action is None:
        return None
    params = action.params or {}
    rule, segment = params.get("rule", ""), params.get("segment", "")
    state, evidence = outcome_of(store_runs.findings_of(session, run.id), rule, segment)
    verification = {**(action.verification or {}), **evidence, "outcome": state, "checked_at": utcnow().isoformat(),
                    "version": run.version}
    won = session.execute(update(RecoveryAction).where(
        RecoveryAction.id == action.id, RecoveryAction.verification_state == "checking")
        .values(verification_state=state, verification=verification)).rowcount
    if not won:
        return None
    events.action_event(session, "recovery.verified", action.id, outcome=state)
    notifications: list[int] = []
    if state == "not_recovered":
        notifications = escalate(session, run, spec, action, report_url)
    elif state == "recovered":
        notifications = stand_down(session, run, spec, rule, report_url)
    return {"action_id": action.id, "outcome": state, "notifications": notifications}


def stand_down(session: Session, run: CheckRun, spec: ModelSpec, rule: str, report_url: str) -> list[int]:
    """A later recovery of ``rule`` that worked resolves its open ``recovery_failed`` alert."""
    from monitor.alerts import notify

    alert = session.scalar(select(Alert).where(Alert.model_id == run.model_id, Alert.rule == ESCALATION_RULE,
                                               Alert.segment == rule, Alert.state.in_(notify.OPEN_STATES)))
    if alert is None:
        return []
    alert.state, alert.resolved_at, alert.last_run_id = "resolved", utcnow(), run.id
    alert.message = f"resolved: a later recovery of {rule} was verified in check {run.id[:8]}"
    session.flush()
    events.alert_event(session, "alert.resolved", alert)
    return notify.plan(session, run, spec, [alert.id], report_url, only=[alert.id], tag="recovery")


def escalate(session: Session, run: CheckRun, spec: ModelSpec, action: RecoveryAction, report_url: str) -> list[int]:
    """A ``critical`` ``recovery_failed`` alert (one open per model and rule) and its notifications."""
    from monitor.alerts import notify  # one way to notify, shared with the alert stage

    rule = (action.params or {}).get("rule", "")
    now = utcnow()
    message = (f"recovery action {action.id} ({action.kind}) did not restore {rule}: it still fires in "
               f"verification check {run.id[:8]}; automatic actions for {rule} now wait for a person")
    insert_ignoring_conflicts(session, Alert.__table__, [{
        "model_id": run.model_id, "rule": ESCALATION_RULE, "kind": "recovery", "segment": rule,
        "state": "firing", "severity": "critical", "message": message, "value": None, "baseline": None,
        "clean_checks": 0, "first_run_id": run.id, "last_run_id": run.id, "last_window_end": run.window_end,
        "first_seen": now, "last_seen": now}])
    alert = session.scalar(select(Alert).where(Alert.model_id == run.model_id, Alert.rule == ESCALATION_RULE,
                                               Alert.segment == rule, Alert.state.in_(notify.OPEN_STATES)))
    if alert is None or alert.first_run_id != run.id:
        return []  # already escalated by an earlier failure that nobody resolved
    events.alert_event(session, "alert.fired", alert)
    return notify.plan(session, run, spec, [], report_url, only=[alert.id], tag="recovery")
