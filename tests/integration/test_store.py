"""The storage layer on both engines: every idempotency and exactly-once guarantee that the design
hangs on a database constraint or a conditional UPDATE, exercised against SQLite and PostgreSQL.

Each test takes ``db_url`` (parametrized over sqlite and postgresql, schema migrated with Alembic)
and works through separate sessions, so what is asserted is what the database kept, not what a
session's identity map remembers.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import MetaData, func, inspect, select
from sqlalchemy.exc import IntegrityError

from monitor.alerts import delivery, lifecycle
from monitor.alerts.channels import Delivery
from monitor.check.runs import open_check
from monitor.db.schema import Alert, CheckRun, ModelVersion, Notification, RecoveryAction, \
    ReferenceProfile, utcnow
from monitor.detect.findings import RuleEvaluation
from monitor.ingest import Rejected
from monitor.recovery import schedule
from monitor.registry import builtin
from monitor.spec import ModelSpec, parse_spec
from monitor.store import logs, models as store_models, runs as store_runs
from tests.conftest import session

pytestmark = pytest.mark.integration

UTC = dt.timezone.utc
CHANNELS = [{"log": {}}, {"webhook": "http://127.0.0.1:9/x"}]


def make_spec(name: str = "churn", **extra) -> ModelSpec:
    document = {"name": name, "task": "binary_classification", "every": "5m", "window": "1h",
                "columns": {"numeric": ["x"], "categorical": ["region"]}, "alerts": CHANNELS, **extra}
    return parse_spec({"models": [document]})[0]


def reference_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.4).astype(int)
    score = np.clip(label * 0.5 + rng.random(n) * 0.5, 0, 1)
    return pd.DataFrame({"x": rng.normal(size=n), "region": rng.choice(["north", "south"], n),
                         "label": label, "prediction": (score >= 0.5).astype(int), "score": score})


def add_model(url: str, spec: ModelSpec | None = None) -> int:
    with session(url) as s:
        model, created = store_models.upsert_model(s, spec or make_spec())
        assert created
        return model.id


def prediction_rows(ids, ts: dt.datetime, version: str | None = None, prediction: int = 1) -> list[dict]:
    return [{"request_id": rid, "ts": ts, "version": version, "prediction": prediction, "score": 0.75,
             "latency_ms": 12.5, "status": "ok", "features": {"x": float(i), "region": "north"}}
            for i, rid in enumerate(ids)]


# --- registry ------------------------------------------------------------------------------------

def test_register_stores_profile_once_inherits_it_and_rollback_walks_back_one_version(db_url):
    spec = make_spec()
    reference = reference_frame()
    with session(db_url) as s:
        model, _ = store_models.upsert_model(s, spec)
        model_id = model.id
        builtin.register(s, model, spec, "1", reference=reference, serving=True)

    with session(db_url) as s:
        v1 = store_models.get_version(s, model_id, "1")
        assert v1.serving and v1.status == "serving" and v1.promoted_at is not None
        profile = s.scalar(select(ReferenceProfile).where(ReferenceProfile.model_version_id == v1.id))
        assert profile.rows == len(reference)
        assert set(profile.profile["columns"]) == {"x", "region"}
        assert profile.profile["columns"]["x"]["type"] == "numeric"
        assert profile.profile["columns"]["region"]["counts"].keys() == {"north", "south"}
        assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(profile.baseline_kpis)
        assert 0 < profile.baseline_kpis["accuracy"] <= 1
        assert profile.drift_reference  # the cached drift side (migration 0002's column)
        v1_profile = (profile.profile, profile.baseline_kpis)

    with session(db_url) as s:  # registering "1" again is a no-op for versions and profiles
        model = store_models.get_model_by_id(s, model_id)
        again = builtin.register(s, model, spec, "1", reference=reference, serving=True)
        assert again.id == v1.id
    with session(db_url) as s:
        assert [v.version for v in store_models.list_versions(s, model_id)] == ["1"]
        assert s.scalar(select(func.count()).select_from(ReferenceProfile)) == 1

    with session(db_url) as s:
        model = store_models.get_model_by_id(s, model_id)
        builtin.register(s, model, spec, "2", serving=True)
    with session(db_url) as s:
        v2 = store_models.get_version(s, model_id, "2")
        assert store_models.serving_version(s, model_id).version == "2"
        assert store_models.get_version(s, model_id, "1").status == "retired"
        inherited = store_models.reference_for(s, model_id, "2")
        assert inherited.model_version_id == v2.id
        assert (inherited.profile, inherited.baseline_kpis) == v1_profile
        assert "inherited" in v2.details["reference"]

    with session(db_url) as s:
        assert builtin.rollback(s, model_id) == ("2", "1")
    with session(db_url) as s:
        assert store_models.serving_version(s, model_id).version == "1"
        assert store_models.get_version(s, model_id, "2").status == "rolled_back"
        assert s.scalar(select(func.count()).select_from(ModelVersion).where(ModelVersion.serving.is_(True))) == 1

    with session(db_url) as s:  # "2" was rolled back, and nothing served before "1"
        assert builtin.rollback(s, model_id) is None
    with session(db_url) as s:
        assert store_models.serving_version(s, model_id).version == "1"


# --- logs ----------------------------------------------------------------------------------------

def test_resent_predictions_and_labels_count_as_duplicates_and_keep_the_first_row(db_url):
    model_id = add_model(db_url)
    now = utcnow()
    ids = [f"r{i}" for i in range(5)]
    with session(db_url) as s:
        assert logs.insert_predictions(s, model_id, prediction_rows(ids, now), "1") == logs.InsertCounts(5, 0)
        assert logs.insert_labels(s, model_id, [{"request_id": r, "label": 1} for r in ids]) == logs.InsertCounts(5, 0)
    with session(db_url) as s:
        resent = prediction_rows(ids, now, prediction=0)
        assert logs.insert_predictions(s, model_id, resent, "1") == logs.InsertCounts(0, 5)
        assert logs.insert_labels(s, model_id, [{"request_id": r, "label": 0} for r in ids]) == logs.InsertCounts(0, 5)
    with session(db_url) as s:  # a batch of old and new rows: only the new ones count
        mixed = prediction_rows(["r0", "r1", "r5"], now)
        assert logs.insert_predictions(s, model_id, mixed, "1") == logs.InsertCounts(1, 2)
    with session(db_url) as s:
        span = (now - dt.timedelta(days=1), now + dt.timedelta(days=1))
        frame = logs.load_window(s, model_id, *span, None, logs.freeze_window(s, model_id, *span, None))
        assert list(frame["request_id"]) == [*ids, "r5"]
        assert set(frame["prediction"]) == {1}  # the re-sent prediction=0 rows did not overwrite anything
        assert list(frame["label"]) == [1] * 5 + [None]  # and the re-sent label=0 rows neither


def test_a_request_id_repeated_within_one_batch_is_stored_once(db_url):
    model_id = add_model(db_url)
    rows = prediction_rows(["r0", "r1", "r0"], utcnow())
    with session(db_url) as s:
        assert logs.insert_predictions(s, model_id, rows, "1") == logs.InsertCounts(2, 1)
        assert logs.insert_labels(s, model_id, [{"request_id": "r0", "label": 1}] * 2) == logs.InsertCounts(1, 1)


def test_request_ids_are_unique_per_model_not_globally(db_url):
    first = add_model(db_url, make_spec("a"))
    second = add_model(db_url, make_spec("b"))
    now = utcnow()
    with session(db_url) as s:
        assert logs.insert_predictions(s, first, prediction_rows(["r0"], now), None).accepted == 1
        assert logs.insert_predictions(s, second, prediction_rows(["r0"], now), None).accepted == 1


def test_quarantine_keeps_rejected_rows_with_their_reasons(db_url):
    model_id = add_model(db_url)
    rejected = [Rejected(2, "column 'ts': cannot parse 'yesterday' as a timestamp", {"request_id": "a", "ts": "yesterday"}),
                Rejected(7, "column 'prediction': required field is missing", {"request_id": "b"})]
    before = utcnow() - dt.timedelta(seconds=1)
    with session(db_url) as s:
        assert logs.quarantine(s, model_id, "predictions", "upload.csv", rejected) == 2
        assert logs.quarantine(s, model_id, "predictions", "upload.csv", []) == 0
    with session(db_url) as s:
        rows = logs.quarantined(s, model_id)
        assert [(r.row_number, r.reason, r.row, r.kind, r.source) for r in reversed(rows)] == [
            (q.row_number, q.reason, q.row, "predictions", "upload.csv") for q in rejected]
        assert logs.quarantined_between(s, model_id, before, utcnow() + dt.timedelta(seconds=1)) == 2


# --- frozen windows ------------------------------------------------------------------------------

def test_frozen_window_ignores_rows_arriving_after_the_watermark(db_url):
    model_id = add_model(db_url)
    end = utcnow().replace(microsecond=0)
    start = end - dt.timedelta(hours=1)
    inside = end - dt.timedelta(minutes=10)
    with session(db_url) as s:
        logs.insert_predictions(s, model_id, prediction_rows([f"a{i}" for i in range(6)], inside), "1")
        logs.insert_predictions(s, model_id, prediction_rows([f"b{i}" for i in range(4)], inside, version="2"), "1")
        logs.insert_predictions(s, model_id, prediction_rows(["old"], start - dt.timedelta(seconds=1)), "1")
        logs.insert_predictions(s, model_id, prediction_rows(["at-end"], end), "1")  # the window is [start, end)
        logs.insert_labels(s, model_id, [{"request_id": f"a{i}", "label": i % 2} for i in range(4)])
    with session(db_url) as s:
        watermark = logs.freeze_window(s, model_id, start, end, None)
    assert watermark["rows"] == 10 and watermark["labelled_rows"] == 4
    assert dt.datetime.fromisoformat(watermark["newest_prediction"]) == inside

    with session(db_url) as s:  # after the freeze: a new prediction, and a label for an old one
        logs.insert_predictions(s, model_id, prediction_rows(["late"], inside), "1")
        logs.insert_labels(s, model_id, [{"request_id": "a4", "label": 1}, {"request_id": "late", "label": 1}])

    with session(db_url) as s:
        frame = logs.load_window(s, model_id, start, end, None, watermark)
    assert list(frame["request_id"]) == [*(f"a{i}" for i in range(6)), *(f"b{i}" for i in range(4))]
    labels = dict(zip(frame["request_id"], frame["label"]))
    assert {k: labels[k] for k in ("a0", "a1", "a2", "a3")} == {"a0": 0, "a1": 1, "a2": 0, "a3": 1}
    assert pd.isna(labels["a4"]) and pd.isna(labels["b0"])  # a4's label came after the watermark
    assert "features" not in frame.columns
    assert {"x", "region"} <= set(frame.columns)
    assert list(frame["x"]) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 3.0]
    assert set(frame["region"]) == {"north"}
    assert set(frame["version"]) == {"1", "2"}
    assert all(ts == inside for ts in frame["ts"])
    assert list(frame["prediction"]) == [1] * 10 and set(frame["score"]) == {0.75}

    with session(db_url) as s:  # the same watermark gives the same frame, however often it is read
        again = logs.load_window(s, model_id, start, end, None, watermark)
    pd.testing.assert_frame_equal(frame, again)

    with session(db_url) as s:  # a new freeze sees the late rows
        fresh = logs.freeze_window(s, model_id, start, end, None)
        assert fresh["rows"] == 11 and fresh["labelled_rows"] == 6
        assert fresh["key"] != watermark["key"]

    with session(db_url) as s:  # the version filter
        only_2 = logs.freeze_window(s, model_id, start, end, "2")
        assert only_2["rows"] == 4 and only_2["labelled_rows"] == 0
        frame_2 = logs.load_window(s, model_id, start, end, "2", only_2)
        assert list(frame_2["request_id"]) == [f"b{i}" for i in range(4)]
        assert set(frame_2["version"]) == {"2"}


def test_frozen_window_is_stable_when_a_lower_id_commits_after_the_freeze(postgres_url):
    from monitor.db.engine import session_scope
    from monitor.db.migrate import upgrade

    upgrade(postgres_url)
    model_id = add_model(postgres_url)
    end = utcnow().replace(microsecond=0)
    start, inside = end - dt.timedelta(hours=1), end - dt.timedelta(minutes=1)
    with session_scope(postgres_url) as slow:  # an ingest transaction that takes a while to commit
        logs.insert_predictions(slow, model_id, prediction_rows(["slow"], inside), "1")
        with session(postgres_url) as fast:  # gets a higher id and commits first
            logs.insert_predictions(fast, model_id, prediction_rows(["fast"], inside), "1")
        with session(postgres_url) as s:
            watermark = logs.freeze_window(s, model_id, start, end, None)
        assert watermark["rows"] == 1
    with session(postgres_url) as s:
        frame = logs.load_window(s, model_id, start, end, None, watermark)
    assert list(frame["request_id"]) == ["fast"]  # what the watermark said the window held


def test_empty_window_loads_as_an_empty_frame(db_url):
    model_id = add_model(db_url)
    end = utcnow()
    with session(db_url) as s:
        watermark = logs.freeze_window(s, model_id, end - dt.timedelta(hours=1), end, None)
        frame = logs.load_window(s, model_id, end - dt.timedelta(hours=1), end, None, watermark)
    assert watermark["rows"] == 0 and watermark["newest_prediction"] is None
    assert len(frame) == 0 and "features" not in frame.columns


def test_feature_named_like_a_log_column_does_not_shadow_it(db_url):
    model_id = add_model(db_url)
    end = utcnow()
    row = prediction_rows(["r0"], end - dt.timedelta(minutes=1))[0]
    row["features"] = {"x": 1.0, "score": 123.0, "status": "bogus"}
    with session(db_url) as s:
        logs.insert_predictions(s, model_id, [row], "1")
        watermark = logs.freeze_window(s, model_id, end - dt.timedelta(hours=1), end, None)
        frame = logs.load_window(s, model_id, end - dt.timedelta(hours=1), end, None, watermark)
    assert list(frame.columns).count("score") == 1 and frame["score"].iloc[0] == 0.75
    assert frame["status"].iloc[0] == "ok"


# --- check runs ----------------------------------------------------------------------------------

def test_scheduled_check_at_the_same_moment_reuses_the_run_and_rerun_makes_a_new_one(db_url):
    spec = make_spec()
    with session(db_url) as s:
        model, _ = store_models.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", serving=True)
    now = dt.datetime(2031, 5, 4, 12, 3, 17, 250_000, tzinfo=UTC)

    with session(db_url) as s:
        first = open_check(s, "churn", trigger="schedule", now=now)
    with session(db_url) as s:
        second = open_check(s, "churn", trigger="schedule", now=now)
        later_in_slot = open_check(s, "churn", trigger="schedule", now=now + dt.timedelta(minutes=1))
    assert first.created and not second.created and not later_in_slot.created
    assert first.run_id == second.run_id == later_in_slot.run_id

    with session(db_url) as s:
        run = store_runs.get_run(s, first.run_id)
        assert (run.window_start, run.window_end) == (dt.datetime(2031, 5, 4, 11, 0, tzinfo=UTC),
                                                      dt.datetime(2031, 5, 4, 12, 0, tzinfo=UTC))
        assert run.version == "1" and run.trigger == "schedule" and run.status == "pending"

    with session(db_url) as s:
        rerun = open_check(s, "churn", trigger="schedule", now=now, rerun=True)
    assert rerun.created and rerun.run_id != first.run_id

    with session(db_url) as s:
        manual = open_check(s, "churn", trigger="manual", now=now)
    with session(db_url) as s:
        run = store_runs.get_run(s, manual.run_id)
        assert manual.created and manual.run_id != first.run_id
        assert run.window_end == now.replace(microsecond=0)
        assert run.window_start == now.replace(microsecond=0) - dt.timedelta(hours=1)
        assert run.trigger == "manual"
        assert s.scalar(select(func.count()).select_from(CheckRun)) == 3

    with session(db_url) as s:
        with pytest.raises(ValueError):
            open_check(s, "churn", trigger="cron", now=now)


# --- recovery actions ----------------------------------------------------------------------------

def add_action(url: str, model_id: int, kind: str, eta: dt.datetime) -> int:
    with session(url) as s:
        action = RecoveryAction(model_id=model_id, kind=kind, state="scheduled", run_id=uuid.uuid4().hex,
                                dedup_key=f"test:{uuid.uuid4().hex}", reason="test", params={}, eta=eta,
                                executions=0)
        s.add(action)
        s.flush()
        return action.id


def test_exactly_one_of_two_concurrent_claims_runs_a_due_action(db_url):
    model_id = add_model(db_url)
    action_id = add_action(db_url, model_id, "retrain", utcnow() - dt.timedelta(seconds=5))
    barrier = threading.Barrier(2)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def contender() -> None:
        try:
            with session(db_url) as s:
                barrier.wait(10)
                won = schedule.claim(s, action_id)
                outcomes.append(won is not None)
                if won is not None:
                    assert won.state == "running" and won.executions == 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=contender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(outcomes) == [False, True]

    with session(db_url) as s:
        action = s.get(RecoveryAction, action_id)
        assert action.state == "running" and action.executions == 1 and action.started_at is not None
        assert schedule.claim(s, action_id) is None  # and nobody after them either
    with session(db_url) as s:
        assert s.get(RecoveryAction, action_id).executions == 1


def test_action_with_a_future_eta_cannot_be_claimed_and_only_scheduled_ones_cancel(db_url):
    model_id = add_model(db_url)
    future = add_action(db_url, model_id, "rollback", utcnow() + dt.timedelta(hours=1))
    due = add_action(db_url, model_id, "retrain", utcnow() - dt.timedelta(seconds=1))
    with session(db_url) as s:
        assert schedule.claim(s, future) is None
    with session(db_url) as s:
        action = s.get(RecoveryAction, future)
        assert action.state == "scheduled" and action.executions == 0 and action.started_at is None

    with session(db_url) as s:
        assert schedule.claim(s, due) is not None
    with session(db_url) as s:
        assert schedule.cancel(s, due, "too late") is False  # running: cancel does not apply
        assert schedule.cancel(s, future, "alert resolved") is True
    with session(db_url) as s:
        assert s.get(RecoveryAction, due).state == "running"
        cancelled = s.get(RecoveryAction, future)
        assert cancelled.state == "cancelled" and cancelled.error == "alert resolved"
        assert cancelled.finished_at is not None
        assert schedule.cancel(s, future, "again") is False
    with session(db_url) as s:
        schedule.finish(s, due, True, {"ok": True})
    with session(db_url) as s:
        assert schedule.cancel(s, due, "after the fact") is False
        assert s.get(RecoveryAction, due).state == "succeeded"


def _firing_alert(s, model_id: int, rule: str, kind: str, run_id: str) -> Alert:
    alert = Alert(model_id=model_id, rule=rule, kind=kind, segment="", state="firing", severity="warning",
                  message=f"{rule} fired", clean_checks=0, first_run_id=run_id, last_run_id=run_id,
                  last_window_end=utcnow())
    s.add(alert)
    s.flush()
    return alert


def test_one_pending_action_per_model_and_kind_a_different_kind_may_coexist(db_url):
    retrain = {"action": "retrain", "callable": "frontdoors.demo.retrain:retrain"}
    spec = make_spec(recovery={"recall_drop": retrain, "precision_drop": retrain,
                               "data_drift": {"action": "rollback"}})
    with session(db_url) as s:
        model, _ = store_models.upsert_model(s, spec)
        model_id = model.id
        builtin.register(s, model, spec, "1", serving=True)
        builtin.register(s, model, spec, "2", serving=True)  # so that a rollback has somewhere to go
        end = utcnow().replace(microsecond=0)
        run, _ = store_runs.open_run(s, model_id=model_id, model_name="churn", version="2", trigger="manual",
                                     start=end - dt.timedelta(hours=1), end=end)
        recall = _firing_alert(s, model_id, "recall_drop", "performance_drop", run.id)
        precision = _firing_alert(s, model_id, "precision_drop", "performance_drop", run.id)
        drift = _firing_alert(s, model_id, "data_drift", "data_drift", run.id)
        run_id, alert_ids = run.id, (recall.id, precision.id, drift.id)

    with session(db_url) as s:
        run = store_runs.get_run(s, run_id)
        alerts = [s.get(Alert, i) for i in alert_ids]
        created = schedule.plan(s, run, spec, alerts)
    assert len(created) == 2
    with session(db_url) as s:
        actions = schedule.actions_of_run(s, store_runs.get_run(s, run_id))
        assert sorted((a.kind, a.alert_id) for a in actions) == sorted(
            [("retrain", alert_ids[0]), ("rollback", alert_ids[2])])
        assert all(a.state == "scheduled" for a in actions)

    with session(db_url) as s:  # planning again changes nothing
        run = store_runs.get_run(s, run_id)
        assert schedule.plan(s, run, spec, [s.get(Alert, i) for i in alert_ids]) == []
        assert s.scalar(select(func.count()).select_from(RecoveryAction)) == 2

    with pytest.raises(IntegrityError):  # the index itself, not only plan's ON CONFLICT, forbids it
        add_action(db_url, model_id, "retrain", utcnow())
    retrain_id = next(a.id for a in actions if a.kind == "retrain")
    with session(db_url) as s:
        schedule.finish(s, retrain_id, False, {}, error="boom")
    # the index is partial: once the first one ended, a new one may be scheduled
    assert add_action(db_url, model_id, "retrain", utcnow())


# --- alert lifecycle -----------------------------------------------------------------------------

def _evaluation(status: str, value: float | None = 0.5) -> RuleEvaluation:
    return RuleEvaluation(rule="recall_drop", kind="performance_drop", status=status,
                          message=f"recall {status}", metric="recall", value=value, baseline=0.9, threshold=10.0)


def check(url: str, model_id: int, spec: ModelSpec, end: dt.datetime, *evaluations: RuleEvaluation):
    """Open a run for the window ending at ``end``, save its findings, apply them."""
    with session(url) as s:
        run, _ = store_runs.open_run(s, model_id=model_id, model_name=spec.name, version=None, trigger="schedule",
                                     start=end - dt.timedelta(hours=1), end=end)
        store_runs.save_findings(s, run, list(evaluations))
        changes = lifecycle.apply_findings(s, run, spec, store_runs.findings_of(s, run.id), "http://mw/r")
        return run.id, changes


def alert_state(url: str, model_id: int) -> list[tuple]:
    with session(url) as s:
        return [(a.id, a.state, a.clean_checks, a.last_run_id)
                for a in s.scalars(select(Alert).where(Alert.model_id == model_id).order_by(Alert.id))]


def notifications(url: str) -> list[tuple]:
    with session(url) as s:
        return [(n.alert_id, n.run_id, n.channel, n.transition, n.state)
                for n in s.scalars(select(Notification).order_by(Notification.id))]


def test_alert_fires_once_stays_one_episode_and_resolves_after_enough_clean_checks(db_url):
    spec = make_spec(rules={"resolve_after": 2})
    model_id = add_model(db_url, spec)
    t0 = dt.datetime(2031, 5, 4, 12, 0, tzinfo=UTC)
    step = dt.timedelta(minutes=5)

    run1, changes = check(db_url, model_id, spec, t0, _evaluation("firing"))
    [(alert_id, state, clean, last_run)] = alert_state(db_url, model_id)
    assert (state, clean, last_run) == ("firing", 0, run1)
    assert changes.fired == [alert_id] and changes.resolved == [] and len(changes.notifications) == 2
    assert notifications(db_url) == [(alert_id, run1, "0:log", "firing", "pending"),
                                     (alert_id, run1, "1:webhook", "firing", "pending")]
    with session(db_url) as s:
        payload = s.scalar(select(Notification.payload).limit(1))
    assert payload["model"] == "churn" and payload["status"] == "firing"
    assert [(a["rule"], a["transition"]) for a in payload["alerts"]] == [("recall_drop", "firing")]
    assert payload["run_id"] == run1 and payload["report_url"] == "http://mw/r"

    with session(db_url) as s:  # applying the same run again creates nothing
        run = store_runs.get_run(s, run1)
        assert run.alerts_applied
        again = lifecycle.apply_findings(s, run, spec, store_runs.findings_of(s, run1), "http://mw/r")
    assert again == lifecycle.AlertChanges()
    assert len(alert_state(db_url, model_id)) == 1 and len(notifications(db_url)) == 2

    run2, changes = check(db_url, model_id, spec, t0 + step, _evaluation("firing", value=0.4))
    assert changes == lifecycle.AlertChanges()
    assert alert_state(db_url, model_id) == [(alert_id, "firing", 0, run2)]
    with session(db_url) as s:
        assert s.get(Alert, alert_id).value == 0.4
    assert len(notifications(db_url)) == 2

    run3, changes = check(db_url, model_id, spec, t0 + 2 * step, _evaluation("ok", value=0.88))
    assert changes == lifecycle.AlertChanges()
    assert alert_state(db_url, model_id) == [(alert_id, "firing", 1, run3)]

    # a slow run of an older window would be the second clean check; it is ignored instead
    _, changes = check(db_url, model_id, spec, t0 + step - dt.timedelta(seconds=1), _evaluation("ok", value=0.88))
    assert changes == lifecycle.AlertChanges()
    assert alert_state(db_url, model_id) == [(alert_id, "firing", 1, run3)]

    # not enough data says nothing either way
    _, changes = check(db_url, model_id, spec, t0 + 3 * step, _evaluation("insufficient_data", value=None))
    assert changes == lifecycle.AlertChanges()
    assert alert_state(db_url, model_id) == [(alert_id, "firing", 1, run3)]

    run5, changes = check(db_url, model_id, spec, t0 + 4 * step, _evaluation("ok", value=0.89))
    assert changes.resolved == [alert_id] and changes.fired == [] and len(changes.notifications) == 2
    assert alert_state(db_url, model_id) == [(alert_id, "resolved", 2, run5)]
    with session(db_url) as s:
        alert = s.get(Alert, alert_id)
        assert alert.resolved_at is not None and alert.message.startswith("resolved:")
    assert notifications(db_url)[2:] == [(alert_id, run5, "0:log", "resolved", "pending"),
                                         (alert_id, run5, "1:webhook", "resolved", "pending")]

    # firing again after resolving is a new episode: a new alert, notified again
    run6, changes = check(db_url, model_id, spec, t0 + 5 * step, _evaluation("firing"))
    old, new = alert_state(db_url, model_id)
    assert old[:2] == (alert_id, "resolved")
    assert new[1:] == ("firing", 0, run6) and new[0] != alert_id and changes.fired == [new[0]]
    assert len(notifications(db_url)) == 6


def test_a_stale_run_does_not_refire_an_alert_a_newer_run_resolved(db_url):
    spec = make_spec()
    model_id = add_model(db_url, spec)
    t0 = dt.datetime(2031, 5, 4, 12, 0, tzinfo=UTC)
    check(db_url, model_id, spec, t0, _evaluation("firing"))
    check(db_url, model_id, spec, t0 + dt.timedelta(minutes=10), _evaluation("ok"))
    _, changes = check(db_url, model_id, spec, t0 + dt.timedelta(minutes=5), _evaluation("firing"))
    assert changes == lifecycle.AlertChanges()
    assert [state for _, state, _, _ in alert_state(db_url, model_id)] == ["resolved"]


def test_only_one_open_alert_per_rule_and_segment(db_url):
    model_id = add_model(db_url)
    with session(db_url) as s:
        _firing_alert(s, model_id, "recall_drop", "performance_drop", "r1")
    with pytest.raises(IntegrityError):
        with session(db_url) as s:
            _firing_alert(s, model_id, "recall_drop", "performance_drop", "r2")
    with session(db_url) as s:  # another rule, or a resolved one, is no conflict
        _firing_alert(s, model_id, "precision_drop", "performance_drop", "r2")
        alert = s.scalar(select(Alert).where(Alert.rule == "recall_drop"))
        alert.state = "resolved"
        s.flush()
        _firing_alert(s, model_id, "recall_drop", "performance_drop", "r3")


# --- notification delivery -----------------------------------------------------------------------

def test_notification_claim_is_exclusive_while_leased_and_retries_end_in_failed(db_url):
    spec = make_spec()
    model_id = add_model(db_url, spec)
    _, changes = check(db_url, model_id, spec, utcnow().replace(microsecond=0), _evaluation("firing"))
    log_id, webhook_id = changes.notifications

    with session(db_url) as s:
        claimed = delivery.claim(s, log_id)
        assert claimed is not None and claimed.state == "sending" and claimed.attempts == 1
        assert claimed.lease_until > utcnow() + delivery.LEASE - dt.timedelta(seconds=30)
    with session(db_url) as s:
        assert delivery.claim(s, log_id) is None  # leased by the first sender

    retry = Delivery(False, "HTTP 503", retryable=True)
    with session(db_url) as s:
        assert delivery.record(s, log_id, retry) == "pending"
    with session(db_url) as s:
        row = s.get(Notification, log_id)
        assert (row.state, row.attempts, row.last_error) == ("pending", 1, "HTTP 503")
        assert row.lease_until > utcnow()  # held until its retry is due: the sweeper leaves it alone
        assert log_id not in delivery.stale(s, dt.timedelta(0))

    for attempt in range(2, delivery.MAX_ATTEMPTS + 1):
        with session(db_url) as s:
            assert delivery.claim(s, log_id).attempts == attempt
        with session(db_url) as s:
            expected = "failed" if attempt == delivery.MAX_ATTEMPTS else "pending"
            assert delivery.record(s, log_id, retry) == expected
    with session(db_url) as s:
        row = s.get(Notification, log_id)
        assert (row.state, row.attempts) == ("failed", delivery.MAX_ATTEMPTS)
        assert delivery.claim(s, log_id) is None
        attempts = delivery.attempts_of(s, log_id)  # every attempt is on record
        assert [(a.attempt, a.outcome, a.error) for a in attempts] == (
            [(n, "retry", "HTTP 503") for n in range(1, delivery.MAX_ATTEMPTS)] + [(delivery.MAX_ATTEMPTS, "failed", "HTTP 503")])
        assert all(a.ended_at >= a.started_at for a in attempts)

    # a sender that died mid-send: once its lease ran out, the notification may be claimed again
    with session(db_url) as s:
        assert delivery.claim(s, webhook_id) is not None
    with session(db_url) as s:
        s.get(Notification, webhook_id).lease_until = utcnow() - dt.timedelta(seconds=1)
    with session(db_url) as s:
        assert webhook_id in delivery.stale(s, dt.timedelta(hours=1))
        assert delivery.claim(s, webhook_id).attempts == 2
    with session(db_url) as s:
        assert delivery.record(s, webhook_id, Delivery(True, "200")) == "sent"
    with session(db_url) as s:
        row = s.get(Notification, webhook_id)
        assert row.state == "sent" and row.sent_at is not None and row.lease_until is None
        assert delivery.claim(s, webhook_id) is None
        assert [(a.attempt, a.outcome) for a in delivery.attempts_of(s, webhook_id)] == [(1, "lost"), (2, "sent")]


def test_a_first_claim_sends_three_statements_and_the_sender_finds_the_model_in_one(db_url):
    """A delivery's first claim: the conditional UPDATE, one SELECT of the claimed row and the
    attempt's INSERT (no re-read, and no look for a lost attempt: none can exist before the first
    claim; later claims still close one, above); the spec's model comes with its alert."""
    from sqlalchemy import event

    from monitor.db.engine import get_engine

    spec = make_spec()
    model_id = add_model(db_url, spec)
    _, changes = check(db_url, model_id, spec, utcnow().replace(microsecond=0), _evaluation("firing"))
    seen: list[str] = []
    listener = lambda conn, cursor, statement, *rest: seen.append(statement.split()[0])  # noqa: E731
    event.listen(get_engine(db_url), "before_cursor_execute", listener)
    try:
        with session(db_url) as s:
            claimed = delivery.claim(s, changes.notifications[0])
            assert (claimed.state, claimed.attempts) == ("sending", 1)
            assert [verb for verb in seen if verb != "BEGIN"] == ["UPDATE", "SELECT", "INSERT"], seen
            model = store_models.model_of_alert(s, claimed.alert_id)
    finally:
        event.remove(get_engine(db_url), "before_cursor_execute", listener)
    assert [verb for verb in seen if verb != "BEGIN"][3:] == ["SELECT"] and model.id == model_id


def test_non_retryable_failure_fails_the_notification_at_once(db_url):
    spec = make_spec()
    model_id = add_model(db_url, spec)
    _, changes = check(db_url, model_id, spec, utcnow().replace(microsecond=0), _evaluation("firing"))
    with session(db_url) as s:
        assert delivery.claim(s, changes.notifications[1]) is not None
        assert delivery.record(s, changes.notifications[1], Delivery(False, "HTTP 400")) == "failed"


# --- migrations ----------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> str:
    """An empty database, not migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("postgres_url")


def test_upgrade_migrates_a_fresh_database_once(fresh_url):
    from monitor.db.engine import get_engine
    from monitor.db.migrate import current_revision, head_revision, upgrade

    assert current_revision(get_engine(fresh_url)) is None
    assert upgrade(fresh_url) is True
    assert upgrade(fresh_url) is False
    assert current_revision(get_engine(fresh_url)) == head_revision(fresh_url)


def test_migrated_schema_matches_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.db.engine import get_engine
    from monitor.db.schema import Base

    with get_engine(db_url).connect() as connection:
        options = {"compare_type": True, "compare_server_default": True}
        differences = compare_metadata(MigrationContext.configure(connection, opts=options), Base.metadata)
        # the comparison is not vacuous: against no models, every table is reported
        nothing = compare_metadata(MigrationContext.configure(connection, opts=options), MetaData())
        # alembic does not compare an index's WHERE clause; the partial unique indexes need theirs
        indexes = {(table, index["name"]): index for table in ("alerts", "recovery_actions", "check_runs")
                   for index in inspect(connection).get_indexes(table)}
    assert differences == []
    assert {d[1].name for d in nothing if d[0] == "remove_table"} == set(Base.metadata.tables)
    dialect = get_engine(db_url).dialect.name
    open_alerts = str(indexes[("alerts", "uq_alerts_open")]["dialect_options"][f"{dialect}_where"])
    pending = str(indexes[("recovery_actions", "uq_recovery_actions_pending")]["dialect_options"][f"{dialect}_where"])
    assert indexes[("alerts", "uq_alerts_open")]["unique"] and "firing" in open_alerts
    assert indexes[("recovery_actions", "uq_recovery_actions_pending")]["unique"]
    assert "scheduled" in pending and "running" in pending
    open_runs = str(indexes[("check_runs", "ix_check_runs_open")]["dialect_options"][f"{dialect}_where"])
    assert "pending" in open_runs and "running" in open_runs
