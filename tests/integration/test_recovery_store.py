"""Recovery decisions on both engines: which policy acts, cooldowns, approval and expiry, cancel on
resolve, the hold after a failed recovery, verification outcomes, and retrain's promote decision."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor import audit
from monitor.db.schema import Alert, AuditEvent, Notification, RecoveryAction, utcnow
from monitor.detect.findings import RuleEvaluation
from monitor.recovery import ActionContext, approval, schedule, verification
from monitor.recovery.actions.retrain import RetrainRequest, RetrainResult
from monitor.registry import builtin
from monitor.store import logs, models as store_models, runs as store_runs
from tests.conftest import session
from tests.integration.test_store import make_spec

pytestmark = pytest.mark.integration


def _setup(url: str, recovery: dict, versions: tuple[str, ...] = ("1",)) -> tuple[int, str]:
    """A model serving the last of ``versions`` and one open check run of it."""
    spec = make_spec(recovery=recovery)
    with session(url) as s:
        model, _ = store_models.upsert_model(s, spec)
        for version in versions:
            builtin.register(s, model, spec, version, serving=True)
        end = utcnow().replace(microsecond=0)
        run, _ = store_runs.open_run(s, model_id=model.id, model_name="churn", version=versions[-1],
                                     trigger="manual", start=end - dt.timedelta(hours=1), end=end)
        return model.id, run.id


def _alert(url: str, model_id: int, run_id: str, rule: str, kind: str, severity: str = "warning") -> int:
    with session(url) as s:
        alert = Alert(model_id=model_id, rule=rule, kind=kind, segment="", state="firing", severity=severity,
                      message=f"{rule} fired", clean_checks=0, first_run_id=run_id, last_run_id=run_id,
                      last_window_end=utcnow())
        s.add(alert)
        s.flush()
        return alert.id


def _plan(url: str, run_id: str, alert_ids: list[int]) -> list[RecoveryAction]:
    with session(url) as s:
        run = store_runs.get_run(s, run_id)
        spec = store_models.spec_of(store_models.get_model_by_id(s, run.model_id))
        schedule.plan(s, run, spec, [s.get(Alert, i) for i in alert_ids])
    with session(url) as s:
        actions = schedule.actions_of_run(s, store_runs.get_run(s, run_id))
        s.expunge_all()
        return actions


def test_policy_by_rule_else_kind_else_severity_and_cooldown_per_model_and_action(db_url):
    model_id, run_id = _setup(db_url, {
        "recall_drop": {"action": "recalibrate", "cooldown": "1h"},
        "critical": {"action": "notify", "cooldown": "1h"}})
    by_rule = _alert(db_url, model_id, run_id, "recall_drop", "performance_drop", "critical")
    by_severity = _alert(db_url, model_id, run_id, "latency_p95", "service_slo", "critical")
    ignored = _alert(db_url, model_id, run_id, "data_drift", "data_drift", "warning")
    actions = _plan(db_url, run_id, [by_rule, by_severity, ignored])
    assert sorted((a.alert_id, a.kind, a.state) for a in actions) == [
        (by_rule, "recalibrate", "scheduled"), (by_severity, "notify", "scheduled")]

    notify = next(a for a in actions if a.kind == "notify")
    with session(db_url) as s:
        schedule.finish(s, notify.id, True, {"summary": "asked"})
    # A new critical alert within the notify cooldown gets no second notify.
    again = _alert(db_url, model_id, run_id, "error_rate", "service_slo", "critical")
    with session(db_url) as s:
        spec = store_models.spec_of(store_models.get_model_by_id(s, model_id))
        assert schedule.choose_policy(s, model_id, spec, s.get(Alert, again)) is None
        s.execute(RecoveryAction.__table__.update().where(RecoveryAction.id == notify.id)
                  .values(finished_at=utcnow() - dt.timedelta(hours=2)))
    with session(db_url) as s:  # once the cooldown passed, it may act again
        spec = store_models.spec_of(store_models.get_model_by_id(s, model_id))
        assert schedule.choose_policy(s, model_id, spec, s.get(Alert, again)).policy.action == "notify"


def test_approval_waits_is_audited_runs_once_and_an_unapproved_action_expires(db_url):
    model_id, run_id = _setup(db_url, {
        "recall_drop": {"action": "rollback", "approval": True, "approval_timeout": "1h"},
        "data_drift": {"action": "notify", "approval": True, "approval_timeout": "1h"}}, versions=("1", "2"))
    recall = _alert(db_url, model_id, run_id, "recall_drop", "performance_drop")
    drift = _alert(db_url, model_id, run_id, "data_drift", "data_drift")
    actions = {a.kind: a for a in _plan(db_url, run_id, [recall, drift])}
    rollback, notify = actions["rollback"], actions["notify"]
    assert rollback.state == notify.state == "pending_approval"
    assert rollback.expires_at - rollback.created_at == dt.timedelta(hours=1)
    assert rollback.params["approval_reason"] == "the policy requires approval"
    with session(db_url) as s:
        assert schedule.undispatched(s, run_id) == []  # nothing is published while it waits
        assert schedule.claim(s, rollback.id) is None  # and nothing could run it
    with pytest.raises(IntegrityError):  # one pending action per (model, kind) includes pending_approval
        with session(db_url) as s:
            s.add(RecoveryAction(model_id=model_id, kind="rollback", state="scheduled", run_id=run_id,
                                 dedup_key="second", reason="x", params={}, eta=utcnow(), executions=0))
            s.flush()

    with session(db_url) as s:
        approved = approval.approve(s, rollback.id, actor="token:alice", reason="checked the dashboards")
    assert approved.eta >= rollback.eta
    with session(db_url) as s:
        assert s.get(RecoveryAction, rollback.id).state == "scheduled"
        with pytest.raises(approval.NotPendingApproval, match="is scheduled, not pending_approval"):
            approval.approve(s, rollback.id, actor="token:bob")
    with session(db_url) as s:
        assert schedule.claim(s, rollback.id) is not None
        assert s.get(RecoveryAction, rollback.id).executions == 1

    # Nobody approves the notify: past its deadline the sweeper's expiry ends it.
    with session(db_url) as s:
        s.execute(RecoveryAction.__table__.update().where(RecoveryAction.id == notify.id)
                  .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    with session(db_url) as s:
        with pytest.raises(approval.NotPendingApproval, match="expired"):
            approval.approve(s, notify.id, actor="token:alice")
    with session(db_url) as s:
        assert approval.expire_unapproved(s) == [notify.id]
        assert approval.expire_unapproved(s) == []
    with session(db_url) as s:
        expired = s.get(RecoveryAction, notify.id)
        assert (expired.state, expired.executions) == ("expired", 0) and expired.error.startswith("not approved by")
        trail = [(e.actor, e.action, e.subject) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert trail == [("token:alice", "approve", f"recovery:{rollback.id}"),
                     ("system", "expire", f"recovery:{notify.id}")]


def test_resolved_alert_cancels_its_waiting_actions_with_the_reason_and_an_audit_row(db_url):
    model_id, run_id = _setup(db_url, {"recall_drop": {"action": "recalibrate", "after": "1h"},
                                       "data_drift": {"action": "notify", "approval": True}})
    recall = _alert(db_url, model_id, run_id, "recall_drop", "performance_drop")
    drift = _alert(db_url, model_id, run_id, "data_drift", "data_drift")
    _plan(db_url, run_id, [recall, drift])
    with session(db_url) as s:
        cancelled = schedule.cancel_for_alerts(s, [recall, drift], "run42")
    assert len(cancelled) == 2
    with session(db_url) as s:
        rows = s.scalars(select(RecoveryAction).order_by(RecoveryAction.id)).all()
        assert [(a.state, a.error) for a in rows] == [
            ("cancelled", f"alert {recall} resolved before the action ran (check run42)"),
            ("cancelled", f"alert {drift} resolved before the action ran (check run42)")]
        assert [(e.actor, e.action) for e in s.scalars(select(AuditEvent))] == [("system", "cancel")] * 2
        assert schedule.cancel_for_alerts(s, [recall, drift]) == []


def _verification_run(url: str, model_id: int, action_id: int, status: str) -> str:
    """A verification run of the action whose findings say ``status`` for recall_drop."""
    with session(url) as s:
        end = utcnow().replace(microsecond=0)
        run, _ = store_runs.open_run(s, model_id=model_id, model_name="churn", version="1", trigger="verification",
                                     start=end - dt.timedelta(hours=1), end=end, rerun=True)
        store_runs.save_findings(s, run, [RuleEvaluation(rule="recall_drop", kind="performance_drop", status=status,
                                                         message=f"recall {status}", metric="recall", value=0.4)])
        s.execute(RecoveryAction.__table__.update().where(RecoveryAction.id == action_id)
                  .values(verification_state="checking", verification={"run_id": run.id}))
        return run.id


def test_failed_verification_escalates_once_and_holds_automatic_actions_until_a_person_acts(db_url):
    model_id, run_id = _setup(db_url, {"recall_drop": [{"action": "recalibrate", "cooldown": "1h"},
                                                       {"action": "notify"}]})
    first = _plan(db_url, run_id, [_alert(db_url, model_id, run_id, "recall_drop", "performance_drop")])[0]
    with session(db_url) as s:
        schedule.claim(s, first.id)
        schedule.finish(s, first.id, True, {"summary": "recalibrated"})
    with session(db_url) as s:
        spec = store_models.spec_of(store_models.get_model_by_id(s, model_id))
        due = verification.schedule_follow_up(s, s.get(RecoveryAction, first.id), spec)
        assert due - utcnow() > dt.timedelta(minutes=59)  # default: the model's window (1h)
        assert verification.claim(s, first.id) is None  # not due yet
    verify_run = _verification_run(db_url, model_id, first.id, "firing")
    with session(db_url) as s:
        outcome = verification.record(s, store_runs.get_run(s, verify_run), spec, "http://x/report")
        assert outcome["outcome"] == "not_recovered" and len(outcome["notifications"]) == 2
        assert verification.record(s, store_runs.get_run(s, verify_run), spec, "http://x/report") is None
    with session(db_url) as s:
        action = s.get(RecoveryAction, first.id)
        assert action.verification_state == "not_recovered"
        assert action.verification["findings"][0]["status"] == "firing"
        escalation = s.scalar(select(Alert).where(Alert.rule == "recovery_failed"))
        assert (escalation.severity, escalation.state, escalation.segment) == ("critical", "firing", "recall_drop")
        assert {n.transition for n in s.scalars(select(Notification))} == {"firing"}

    # A new recall_drop episode: recalibrate is cooling down, and the fallback does not run by
    # itself either: it waits for a person, until someone acts.
    with session(db_url) as s:
        s.execute(Alert.__table__.update().where(Alert.rule == "recall_drop").values(state="resolved"))
    second = _alert(db_url, model_id, run_id, "recall_drop", "performance_drop")
    with session(db_url) as s:
        spec = store_models.spec_of(store_models.get_model_by_id(s, model_id))
        choice = schedule.choose_policy(s, model_id, spec, s.get(Alert, second))
        assert choice.policy.action == "notify"
        assert f"recovery action {first.id} (recalibrate) did not restore recall_drop" in choice.approval_reason
        audit.record(s, actor="cli:bob", action="acknowledge", subject="alert:x", model_id=model_id)
    with session(db_url) as s:
        choice = schedule.choose_policy(s, model_id, spec, s.get(Alert, second))
        assert (choice.policy.action, choice.approval_reason) == ("notify", None)


def test_recovered_verification_records_evidence_and_does_not_escalate(db_url):
    model_id, run_id = _setup(db_url, {"recall_drop": {"action": "recalibrate", "verify_after": "0s"}})
    first = _plan(db_url, run_id, [_alert(db_url, model_id, run_id, "recall_drop", "performance_drop")])[0]
    with session(db_url) as s:
        schedule.claim(s, first.id)
        schedule.finish(s, first.id, True, {"summary": "recalibrated"})
    with session(db_url) as s:
        spec = store_models.spec_of(store_models.get_model_by_id(s, model_id))
        verification.schedule_follow_up(s, s.get(RecoveryAction, first.id), spec)
    with session(db_url) as s:
        assert verification.claim(s, first.id) is not None
        assert verification.claim(s, first.id) is None  # one claim only
    verify_run = _verification_run(db_url, model_id, first.id, "ok")
    with session(db_url) as s:
        assert verification.record(s, store_runs.get_run(s, verify_run), spec, "u")["outcome"] == "recovered"
        assert s.scalar(select(Alert).where(Alert.rule == "recovery_failed")) is None


# --- retrain: promoted only when better by the margin ---------------------------------------------

def truth_retrain(request: RetrainRequest) -> RetrainResult:
    """A candidate that knows the concept (label = x > 0) the serving version misses."""
    frame = request.data
    reference = frame.assign(prediction=(frame["x"] > 0).astype(int), score=(frame["x"] > 0) * 0.8 + 0.1)
    return RetrainResult(version=request.next_version, reference=reference[["x", "region", "label", "prediction",
                                                                             "score"]],
                         metrics={"training_rows": len(frame)},
                         history={"train_loss": [0.6, 0.4, 0.3], "validation_loss": [0.62, 0.45, 0.41]},
                         predict=lambda rows: ((rows["x"] > 0).astype(int).to_numpy(),
                                               ((rows["x"] > 0) * 0.8 + 0.1).to_numpy()))


def _traffic(url: str, model_id: int, n: int = 800) -> None:
    """Labelled traffic of version 1, which predicts at random."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    now = utcnow()
    rows = [{"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=float(rng.uniform(1, 1800))), "version": "1",
             "prediction": int(rng.random() < 0.5), "score": float(rng.random()), "latency_ms": 1.0, "status": "ok",
             "features": {"x": float(x[i]), "region": "north"}} for i in range(n)]
    with session(url) as s:
        logs.insert_predictions(s, model_id, rows, None)
        logs.insert_labels(s, model_id, [{"request_id": f"r{i}", "label": int(x[i] > 0), "ts": now} for i in range(n)])


@pytest.mark.parametrize("margin, promoted", [(0.05, True), (0.9, False)])
def test_retrain_promotes_only_a_candidate_better_by_the_margin(db_url, margin, promoted):
    callable_ = "tests.integration.test_recovery_store:truth_retrain"
    model_id, run_id = _setup(db_url, {"recall_drop": {"action": "retrain", "callable": callable_,
                                                       "promote_margin": margin}})
    with session(db_url) as s:  # version 1 gets a reference, so the retrained one has a profile to inherit
        model = store_models.get_model_by_id(s, model_id)
        builtin.register(s, model, store_models.spec_of(model), "1", reference=pd.DataFrame(
            {"x": [0.1, -0.1] * 50, "region": ["north"] * 100, "label": [1, 0] * 50, "prediction": [1, 0] * 50,
             "score": [0.9, 0.1] * 50}))
    _traffic(db_url, model_id)
    action = _plan(db_url, run_id, [_alert(db_url, model_id, run_id, "recall_drop", "performance_drop")])[0]
    from monitor.recovery import ACTIONS

    with session(db_url) as s:
        model = store_models.get_model_by_id(s, model_id)
        outcome = ACTIONS.get("retrain")().run(ActionContext(s, model, store_models.spec_of(model), s.get(RecoveryAction, action.id)))
    assert outcome.ok is promoted
    evaluation = outcome.details["evaluation"]
    assert evaluation["metric"] == "f1" and evaluation["promote"] is promoted
    assert evaluation["candidate"] == pytest.approx(1.0) and evaluation["serving"] < 0.7
    assert evaluation["holdout_rows"] >= 100 and outcome.details["holdout_rows"] == evaluation["holdout_rows"]
    assert outcome.details["training_rows"] + outcome.details["holdout_rows"] == 800
    assert outcome.details["history"]["validation_loss"] == [0.62, 0.45, 0.41]
    with session(db_url) as s:
        assert store_models.serving_version(s, model_id).version == ("2" if promoted else "1")
        assert store_models.get_version(s, model_id, "2").status == ("serving" if promoted else "rejected")
        trail = [(e.actor, e.action, e.subject) for e in s.scalars(select(AuditEvent))]
    assert trail == ([("system", "promote", "model:churn:2")] if promoted else [])


def test_a_verification_whose_check_failed_is_inconclusive_not_stuck(db_url):
    model_id, run_id = _setup(db_url, {"recall_drop": {"action": "recalibrate"}})
    first = _plan(db_url, run_id, [_alert(db_url, model_id, run_id, "recall_drop", "performance_drop")])[0]
    verify_run = _verification_run(db_url, model_id, first.id, "ok")
    with session(db_url) as s:
        assert verification.close_failed(s) == []  # its run has not failed
        store_runs.fail_run(s, store_runs.get_run(s, verify_run), "detect", "StageError: boom")
    with session(db_url) as s:
        assert verification.close_failed(s) == [first.id]
    with session(db_url) as s:
        action = s.get(RecoveryAction, first.id)
        assert action.verification_state == "inconclusive"
        assert action.verification["error"] == "verification check failed: detect: StageError: boom"


def test_the_escalation_alert_plans_nothing_and_a_later_verified_recovery_resolves_it(db_url):
    model_id, run_id = _setup(db_url, {"recall_drop": {"action": "recalibrate", "cooldown": "1s"},
                                       "critical": {"action": "notify"}})
    first = _plan(db_url, run_id, [_alert(db_url, model_id, run_id, "recall_drop", "performance_drop")])[0]
    with session(db_url) as s:
        schedule.finish(s, first.id, True, {"summary": "recalibrated"})
    failed_run = _verification_run(db_url, model_id, first.id, "firing")
    with session(db_url) as s:
        spec = store_models.spec_of(store_models.get_model_by_id(s, model_id))
        verification.record(s, store_runs.get_run(s, failed_run), spec, "u")
    with session(db_url) as s:  # the critical recovery_failed alert is new in that run, yet plans nothing
        escalation = s.scalar(select(Alert).where(Alert.rule == "recovery_failed"))
        assert escalation.first_run_id == failed_run and escalation.severity == "critical"
        assert schedule.plan(s, store_runs.get_run(s, failed_run), spec, [escalation]) == []

    second = _plan(db_url, run_id, [])  # nothing new from the original run either
    assert [a.id for a in second] == [first.id]
    with session(db_url) as s:  # a later recalibrate of recall_drop that works stands the escalation down
        retry = RecoveryAction(model_id=model_id, kind="recalibrate", state="succeeded", run_id=run_id,
                               dedup_key="retry", reason="recall_drop", params={"rule": "recall_drop", "segment": ""},
                               eta=utcnow(), executions=1, finished_at=utcnow())
        s.add(retry)
        s.flush()
        retry_id = retry.id
    ok_run = _verification_run(db_url, model_id, retry_id, "ok")
    with session(db_url) as s:
        outcome = verification.record(s, store_runs.get_run(s, ok_run), spec, "u")
        assert outcome["outcome"] == "recovered" and len(outcome["notifications"]) == 2
    with session(db_url) as s:
        assert s.scalar(select(Alert).where(Alert.rule == "recovery_failed")).state == "resolved"
