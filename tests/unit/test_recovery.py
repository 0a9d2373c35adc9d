"""Recovery's pure parts on DataFrames: the held-out split, the candidate-vs-serving comparison,
the recalibration fit, verification outcomes, and the policy fields of the spec."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from monitor.errors import SpecError
from monitor.recovery.evaluation import compare, split_holdout
from monitor.recovery.actions.recalibrate import fit
from monitor.recovery.verification import outcome_of
from monitor.spec import RecoveryPolicy, parse_spec


def _spec(**extra):
    document = {"name": "churn", "task": "binary_classification", "window": "1h",
                "rules": {"min_labelled_rows": 50}, **extra}
    return parse_spec({"models": [document]})[0]


def _recent(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    now = pd.Timestamp.now(tz="UTC")
    label = (rng.random(n) < 0.4).astype(int)
    return pd.DataFrame({"request_id": [f"r{i}" for i in range(n)], "label": label,
                         "ts": [now - dt.timedelta(seconds=float(s)) for s in rng.uniform(0, 7200, n)],
                         "version": "1", "prediction": np.where(rng.random(n) < 0.7, label, 1 - label),
                         "score": rng.random(n)})


def test_holdout_is_a_stable_quarter_of_the_newest_window_only():
    data = _recent()
    training, holdout = split_holdout(data, window=3600)
    assert len(training) + len(holdout) == len(data)
    assert set(training["request_id"]).isdisjoint(holdout["request_id"])
    newest = pd.to_datetime(data["ts"]).max()
    assert (pd.to_datetime(holdout["ts"]) >= newest - dt.timedelta(hours=1)).all()
    in_window = (pd.to_datetime(data["ts"]) >= newest - dt.timedelta(hours=1)).sum()
    assert 0.18 < len(holdout) / in_window < 0.32
    again = split_holdout(data.sample(frac=1.0, random_state=1), window=3600)[1]
    assert set(again["request_id"]) == set(holdout["request_id"])


@pytest.mark.parametrize("margin, promote", [(0.0, True), (0.1, True), (0.5, False)])
def test_candidate_is_promoted_only_when_better_by_the_margin(margin, promote):
    spec = _spec()
    holdout = _recent(400)
    policy = RecoveryPolicy(action="retrain", callable="m:f", promote_margin=margin)
    perfect = holdout["label"].to_numpy()
    result = compare(spec, policy, holdout, "1", perfect, None)
    assert result.metric == "f1" and result.candidate == pytest.approx(1.0)
    assert result.serving < 0.8 and result.improvement == pytest.approx(1.0 - result.serving)
    assert result.promote is promote and result.holdout_rows == 400


def test_a_worse_candidate_or_too_few_serving_rows_is_never_promoted():
    spec = _spec()
    holdout = _recent(400)
    policy = RecoveryPolicy(action="retrain", callable="m:f", promote_margin=0.0)
    worse = 1 - holdout["label"].to_numpy()
    assert compare(spec, policy, holdout, "1", worse, None).promote is False
    other_version = compare(spec, policy, holdout.assign(version="7"), "1", holdout["label"].to_numpy(), None)
    assert other_version.promote is False and "only 0 held-out rows answered by version 1" in other_version.reason


def test_lower_is_better_metrics_compare_the_other_way():
    spec = _spec(task="regression")
    rng = np.random.default_rng(0)
    truth = rng.normal(size=300)
    holdout = pd.DataFrame({"label": truth, "prediction": truth + rng.normal(0, 1, 300), "score": None,
                            "version": "1"})
    policy = RecoveryPolicy(action="retrain", callable="m:f", promote_margin=0.2)
    result = compare(spec, policy, holdout, "1", truth + rng.normal(0, 0.1, 300), None)
    assert result.metric == "rmse" and result.candidate < result.serving and result.promote


def test_recalibration_moves_the_threshold_to_where_the_scores_now_separate():
    rng = np.random.default_rng(0)
    truth = (rng.random(2000) < 0.3).astype(int)
    # The scores still rank well but sit far below 0.5 (a shifted world): at 0.5 nothing is positive.
    scores = np.clip(0.1 + 0.25 * truth + rng.normal(0, 0.05, 2000), 0.001, 0.999)
    calibration = fit(truth, scores)
    assert calibration["before"]["recall"] == 0.0
    assert 0.15 < calibration["threshold"] < 0.35
    assert calibration["after"]["f1"] > 0.9 and calibration["after"]["brier"] < calibration["before"]["brier"]
    calibrated = 1 / (1 + np.exp(-(calibration["a"] * np.log(scores / (1 - scores)) + calibration["b"])))
    assert abs(calibrated.mean() - truth.mean()) < 0.02


def test_verification_outcome_from_the_rule_of_the_action():
    def finding(rule, status, segment=""):
        return SimpleNamespace(rule=rule, status=status, segment=segment, metric="recall", value=0.5,
                               baseline=0.9, threshold=0.8, message=status)

    assert outcome_of([finding("recall_drop", "firing")], "recall_drop", "")[0] == "not_recovered"
    assert outcome_of([finding("recall_drop", "ok"), finding("data_drift", "firing")], "recall_drop", "")[0] == "recovered"
    assert outcome_of([finding("recall_drop", "insufficient_data")], "recall_drop", "")[0] == "inconclusive"
    assert outcome_of([finding("recall_drop", "firing", "web")], "recall_drop", "")[0] == "inconclusive"


def test_policy_fields_severity_keys_and_bad_actions():
    (spec,) = parse_spec({"models": [{"name": "churn", "task": "binary_classification", "recovery": {
        "critical": {"action": "notify", "approval": True, "approval_timeout": "2h", "verify_after": "10m"},
        "recall_drop": {"action": "recalibrate"}}}]})
    (policy,) = spec.policies_for("error_rate", "service_slo", "critical")
    assert (policy.action, policy.approval, policy.approval_timeout, policy.verify_after) == ("notify", True, 7200, 600)
    assert spec.policies_for("recall_drop", "performance_drop", "critical")[0].action == "recalibrate"
    assert spec.policies_for("data_drift", "data_drift", "warning") == []
    with pytest.raises(SpecError, match="recovery names unknown rule"):
        parse_spec({"models": [{"name": "churn", "task": "binary_classification",
                                "recovery": {"urgent": {"action": "notify"}}}]})
    with pytest.raises(SpecError, match="promote_margin"):
        parse_spec({"models": [{"name": "churn", "task": "binary_classification", "recovery": {
            "recall_drop": {"action": "retrain", "callable": "m:f", "promote_margin": -1}}}]})


def test_report_shows_the_schedule_and_a_retrains_evidence_escaped():
    from monitor.reports import render_html

    evil = "<script>alert(1)</script>"
    schedule = [
        {"id": 2, "kind": "notify", "rule": evil, "state": "pending_approval", "expires_at": "2026-11-23T12:00:00+00:00",
         "approval_reason": "the policy requires approval", "executions": 0},
        {"id": 1, "kind": "retrain", "rule": "data_drift", "state": "succeeded", "executions": 1,
         "verification_state": "recovered", "result": {
             "summary": "retrained", "new_version": "3", "previous_version": "1",
             "evaluation": {"metric": "f1", "candidate": 0.81, "serving": 0.52, "promote": True, "holdout_rows": 400,
                            "reason": "candidate f1 0.8100 beats serving 0.5200"},
             "history": {"train_log_loss": [0.6, 0.5, 0.45], "validation_log_loss": [0.61, 0.55, 0.52]}}}]
    out = render_html({"model": "m", "run_id": "r", "recovery_schedule": schedule})
    assert 'id="recovery-schedule"' in out and evil not in out and "&lt;script&gt;" in out
    assert "approval until 2026-11-23 12:00:00 UTC" in out and "recovered" in out
    assert "Retrain #1: promoted." in out and "0.810" in out and "0.520" in out
    assert "Training curves per iteration" in out and "validation_log_loss" in out
    assert 'id="recovery-schedule"' not in render_html({"model": "m", "run_id": "r", "recovery_schedule": "junk"})


def test_api_lists_cancels_and_refuses_with_clear_conflicts(tmp_path):
    """The dashboard's contract, in process (no broker is touched: the action was never published)."""
    from fastapi.testclient import TestClient

    from frontdoors.api.app import create_app
    from monitor.config import Settings
    from monitor.db.engine import session_scope
    from monitor.db.migrate import upgrade
    from monitor.db.schema import AuditEvent, RecoveryAction, utcnow
    from monitor.store import models as store

    settings = Settings(data_dir=tmp_path, tokens="alice=a1,viewer=v1:read")
    upgrade(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        model, _ = store.upsert_model(session, _spec())
        action = RecoveryAction(model_id=model.id, kind="retrain", state="scheduled", run_id="r1",
                                dedup_key="alert:1:retrain", reason="recall_drop: recall fell",
                                eta=utcnow() + dt.timedelta(hours=1), params={"rule": "recall_drop"})
        session.add(action)
        session.flush()
        action_id = action.id
    api = TestClient(create_app(settings))
    alice, viewer = {"Authorization": "Bearer a1"}, {"Authorization": "Bearer v1"}
    listed = api.get("/v1/recovery", params={"model": "churn"}, headers=viewer).json()
    assert [(a["id"], a["model"], a["state"], a["rule"]) for a in listed] == [(action_id, "churn", "scheduled", "recall_drop")]
    assert api.get("/v1/recovery", params={"model": "nosuch"}, headers=viewer).status_code == 404
    assert api.post(f"/v1/recovery/{action_id}/cancel", json={"reason": "x"}, headers=viewer).status_code == 403
    conflict = api.post(f"/v1/recovery/{action_id}/approve", json={"reason": "x"}, headers=alice)
    assert conflict.status_code == 409 and "is scheduled, not pending_approval" in conflict.json()["detail"]
    cancelled = api.post(f"/v1/recovery/{action_id}/cancel", json={"reason": "retrain by hand tonight"}, headers=alice)
    assert cancelled.status_code == 200
    assert (cancelled.json()["state"], cancelled.json()["error"]) == ("cancelled", "retrain by hand tonight")
    again = api.post(f"/v1/recovery/{action_id}/cancel", headers=alice)
    assert again.status_code == 409 and "is cancelled" in again.json()["detail"]
    assert api.post("/v1/recovery/999/approve", headers=alice).status_code == 404
    with session_scope(settings.effective_database_url) as session:
        trail = [(e.actor, e.action, e.reason) for e in session.query(AuditEvent)]
    assert trail == [("token:alice", "cancel", "retrain by hand tonight")]
