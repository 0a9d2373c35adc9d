"""The ``modelwatch`` CLI in-process on the embedded SQLite store: no broker, no worker.

``check`` is only called for a model that does not exist (it would otherwise publish to a broker).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import monitor.config
from frontdoors.cli.main import main


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(folder))
    for name in ("MODELWATCH_DATABASE_URL", "MODELWATCH_BROKER_URL", "MODELWATCH_FAILPOINTS",
                 "MODELWATCH_AUTO_MIGRATE"):
        monkeypatch.delenv(name, raising=False)
    monitor.config.get_settings.cache_clear()
    yield folder
    monitor.config.get_settings.cache_clear()
    from monitor.db.engine import dispose_all

    dispose_all()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str):
    return runner.invoke(main, list(args), catch_exceptions=False)


def _reference(path: Path, rows: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, rows)
    score = np.clip(0.4 * label + rng.uniform(0, 0.6, rows), 0, 1).round(4)
    pd.DataFrame({
        "age": rng.normal(40, 10, rows).round(1),
        "plan": rng.choice(["basic", "pro"], rows),
        "label": label,
        "prediction": (score > 0.5).astype(int),
        "score": score,
    }).to_csv(path, index=False)
    return path


@pytest.fixture
def spec_file(tmp_path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    _reference(folder / "churn-reference.csv")
    path = folder / "models.yaml"
    path.write_text(textwrap.dedent("""
        models:
          - name: churn
            task: binary_classification
            every: 5m
            window: 1h
            reference: churn-reference.csv
            columns:
              numeric: [age]
              categorical: [plan]
    """))
    return path


@pytest.fixture
def applied(runner, data_dir, spec_file):
    result = run(runner, "apply", "-f", str(spec_file))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def predictions_csv(tmp_path) -> Path:
    path = tmp_path / "predictions.csv"
    path.write_text(
        "request_id,ts,prediction,score,age,plan\n"
        "r1,2024-05-01T12:00:00Z,1,0.9,41,basic\n"
        "r2,2024-05-01T12:01:00Z,0,0.2,35,pro\n"
        "r3,yesterday,1,0.7,50,pro\n"
        "r4,2024-05-01T12:03:00Z,1,0.8,29,basic\n"
        "r1,2024-05-01T12:04:00Z,0,0.1,44,basic\n"
    )
    return path


@pytest.fixture
def labels_csv(tmp_path) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text("request_id,label\nr1,1\nr2,0\nr4,0\n")
    return path


# --- apply ---------------------------------------------------------------------------------------


def test_apply_bad_spec_exits_2_naming_model_and_field(runner, data_dir, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("models:\n  - name: churn\n    task: binary_classification\n    rules:\n      recal_drop_pct: 5\n")

    result = runner.invoke(main, ["apply", "-f", str(path)])

    assert result.exit_code == 2
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert error_lines == [f"error: {path}: invalid model spec:"]
    assert '  - model "churn", field rules.recal_drop_pct: unknown field' in result.output.splitlines()
    assert "Traceback" not in result.output


def test_apply_missing_file_exits_2(runner, data_dir, tmp_path):
    result = runner.invoke(main, ["apply", "-f", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert f"error: invalid model spec:\n  - file not found: {tmp_path / 'nope.yaml'}" in result.output


def test_apply_registers_with_reference(applied):
    assert applied.output.splitlines() == [
        "registered churn (binary_classification): version 1 serving; reference rows: 300"]


def test_apply_again_updates(runner, applied, spec_file):
    again = run(runner, "apply", "-f", str(spec_file))
    assert again.exit_code == 0
    assert again.output.splitlines() == ["updated churn (binary_classification): version 1 serving; reference rows: 300"]


def test_apply_reference_missing_a_column_exits_2(runner, data_dir, tmp_path):
    pd.DataFrame({"label": [0, 1], "prediction": [0, 1]}).to_csv(tmp_path / "ref.csv", index=False)
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  - {name: churn, task: binary_classification, reference: ref.csv,"
                    " columns: {numeric: [age]}}\n")
    result = runner.invoke(main, ["apply", "-f", str(path)])
    assert result.exit_code == 2
    assert "error: reference data for model 'churn' lacks column(s) ['age']" in result.output


# --- ingest --------------------------------------------------------------------------------------


def test_ingest_predictions_counts(runner, applied, predictions_csv):
    result = run(runner, "ingest", "predictions", str(predictions_csv), "--model", "churn")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{predictions_csv}: 3 accepted, 1 duplicate, 1 quarantined"
    assert len(lines) == 2
    assert lines[1].startswith("  quarantined row 3: ")
    assert "'yesterday'" in lines[1]


def test_ingest_predictions_json(runner, applied, predictions_csv):
    result = run(runner, "ingest", "predictions", str(predictions_csv), "--model", "churn", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {k: data[k] for k in ("model", "kind", "file", "accepted", "duplicates", "quarantined")} == {
        "model": "churn", "kind": "predictions", "file": str(predictions_csv),
        "accepted": 3, "duplicates": 1, "quarantined": 1}
    assert data["schema_version"] == 1 and data["exit_code"] == 0
    assert len(data["reasons"]) == 1
    assert data["reasons"][0].startswith("row 3: ")


def test_ingest_same_file_again_is_all_duplicates(runner, applied, predictions_csv):
    first = run(runner, "ingest", "predictions", str(predictions_csv), "--model", "churn", "--json")
    assert json.loads(first.output)["accepted"] == 3

    again = json.loads(run(runner, "ingest", "predictions", str(predictions_csv), "--model", "churn",
                           "--json").output)

    assert again["accepted"] == 0
    assert again["duplicates"] == 4  # the 3 stored rows and the in-file repeat
    assert again["quarantined"] == 1  # the bad row is still bad


def test_ingest_small_batches_give_the_same_counts(runner, applied, predictions_csv):
    result = run(runner, "ingest", "predictions", str(predictions_csv), "--model", "churn", "--json",
                 "--batch-size", "1")
    data = json.loads(result.output)
    assert (data["accepted"], data["duplicates"], data["quarantined"]) == (3, 1, 1)


def test_ingest_labels(runner, applied, predictions_csv, labels_csv):
    run(runner, "ingest", "predictions", str(predictions_csv), "--model", "churn")

    result = run(runner, "ingest", "labels", str(labels_csv), "--model", "churn")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{labels_csv}: 3 accepted, 0 duplicate, 0 quarantined"]


def test_ingest_unknown_model_exits_2(runner, applied, predictions_csv):
    result = runner.invoke(main, ["ingest", "predictions", str(predictions_csv), "--model", "nosuch"])
    assert result.exit_code == 2
    assert "error: no model named 'nosuch'; registered models: churn" in result.output


def test_ingest_file_missing_a_required_column_exits_2(runner, applied, tmp_path):
    path = tmp_path / "no-ts.csv"
    path.write_text("request_id,prediction\nr1,1\n")
    result = runner.invoke(main, ["ingest", "predictions", str(path), "--model", "churn"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "ts" in result.output


# --- status / alerts / recovery / report / check -------------------------------------------------


def test_status_json_lists_the_model(runner, applied, data_dir):
    result = run(runner, "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema_version"] == 1 and data["state"] == str(data_dir / "modelwatch.db")
    rows = data["models"]
    assert len(rows) == 1
    row = rows[0]
    assert row["model"] == "churn"
    assert row["task"] == "binary_classification"
    assert row["serving_version"] == "1"
    assert row["last_check"] is None
    assert row["health"] == "unchecked"
    assert row["open_alerts"] == []
    assert row["pending_actions"] == []


def test_status_table_without_models(runner, data_dir):
    assert run(runner, "migrate").exit_code == 0
    result = run(runner, "status")
    assert result.exit_code == 0
    assert f"state: {data_dir / 'modelwatch.db'}" in result.output
    assert "no models registered" in result.output


def test_alerts_json_is_empty(runner, applied):
    result = run(runner, "alerts", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"schema_version": 1, "alerts": []}
    assert json.loads(run(runner, "alerts", "--json", "--open", "--model", "churn").output)["alerts"] == []


def test_recovery_list_json_is_empty(runner, applied):
    result = run(runner, "recovery", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"schema_version": 1, "actions": []}


def test_recovery_cancel_unknown_action_exits_2(runner, applied):
    result = runner.invoke(main, ["recovery", "cancel", "999"])
    assert result.exit_code == 2
    assert "error: no recovery action 999" in result.output


def test_report_without_runs_exits_2(runner, applied):
    result = runner.invoke(main, ["report", "churn"])
    assert result.exit_code == 2
    assert "error: model 'churn' has no report yet; run `modelwatch check churn --wait`" in result.output


def test_check_unknown_model_names_the_registered_ones(runner, applied):
    result = runner.invoke(main, ["check", "nosuchmodel"])
    assert result.exit_code == 2
    assert "error: no model named 'nosuchmodel'; registered models: churn" in result.output


def test_check_without_any_model(runner, data_dir):
    run(runner, "migrate")
    result = runner.invoke(main, ["check", "nosuchmodel"])
    assert result.exit_code == 2
    assert "no model is registered yet" in result.output


def test_state_lives_in_the_data_dir(applied, data_dir):
    assert (data_dir / "modelwatch.db").exists()


def test_approve_schedules_a_pending_action_is_audited_and_refuses_twice(runner, applied, data_dir, monkeypatch):
    import datetime as dt

    import tasks.publish
    from monitor.config import get_settings
    from monitor.db.engine import session_scope
    from monitor.db.schema import RecoveryAction, utcnow
    from monitor.store import models as store

    published = []
    monkeypatch.setattr(tasks.publish, "send_approved", lambda action_id, eta: published.append((action_id, eta)) or "task-1")
    monkeypatch.setenv("MODELWATCH_ACTOR", "carol")
    with session_scope(get_settings().effective_database_url) as session:
        model = store.get_model(session, "churn")
        action = RecoveryAction(model_id=model.id, kind="rollback", state="pending_approval", run_id="r1",
                                dedup_key="alert:1:rollback", reason="recall_drop: recall fell",
                                eta=utcnow() - dt.timedelta(minutes=1), expires_at=utcnow() + dt.timedelta(hours=1),
                                params={"rule": "recall_drop", "approval_reason": "the policy requires approval"})
        session.add(action)
        session.flush()
        action_id = action.id
    listed = json.loads(run(runner, "recovery", "list", "--json").output)["actions"]
    assert [(r["id"], r["state"], r["rule"]) for r in listed] == [(action_id, "pending_approval", "recall_drop")]
    assert "waits for approval" in run(runner, "recovery", "list").output
    result = run(runner, "recovery", "approve", str(action_id), "--reason", "looked at the report")
    assert f"approved recovery action {action_id}; it runs at" in result.output
    assert [a for a, _ in published] == [action_id] and published[0][1] >= utcnow() - dt.timedelta(seconds=30)
    events = json.loads(run(runner, "audit", "--json").output)["events"]
    assert [(e["actor"], e["action"], e["reason"]) for e in events] == [("cli:carol", "approve", "looked at the report")]
    refused = runner.invoke(main, ["recovery", "approve", str(action_id)])
    assert refused.exit_code == 2 and "is scheduled, not pending_approval" in refused.output
    assert len(published) == 1


def test_cancel_is_audited_with_who_and_why(runner, applied, data_dir, monkeypatch):
    import datetime as dt

    from monitor.config import get_settings
    from monitor.db.engine import session_scope
    from monitor.db.schema import RecoveryAction, utcnow
    from monitor.store import models as store

    monkeypatch.setenv("MODELWATCH_ACTOR", "alice")
    with session_scope(get_settings().effective_database_url) as session:
        model = store.get_model(session, "churn")
        action = RecoveryAction(model_id=model.id, kind="retrain", state="scheduled", run_id="r1",
                                dedup_key="alert:1:retrain", reason="recall_drop: recall fell",
                                eta=utcnow() + dt.timedelta(hours=1))
        session.add(action)
        session.flush()
        action_id = action.id
    assert "no decisions recorded yet" in run(runner, "audit").output
    run(runner, "recovery", "cancel", str(action_id), "--reason", "retrain tonight by hand")
    events = json.loads(run(runner, "audit", "--model", "churn", "--json").output)["events"]
    assert [(e["actor"], e["action"], e["subject"], e["reason"], e["model"]) for e in events] == [
        ("cli:alice", "cancel", f"recovery:{action_id}", "retrain tonight by hand", "churn")]
    # A second cancel is refused and records nothing.
    refused = runner.invoke(main, ["recovery", "cancel", str(action_id)])
    assert refused.exit_code == 2 and "only scheduled actions or ones pending approval can be cancelled" in refused.output
    assert len(json.loads(run(runner, "audit", "--json").output)["events"]) == 1
