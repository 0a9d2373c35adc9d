"""Registry adapters: the built-in registry, and MLflow against a real ``mlflow server``, each
mirrored in modelwatch's versions table; ``adapter_for`` picks one by the spec."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from monitor.registry import Move, RegistryError, adapter_for
from monitor.registry.adapters.builtin import BuiltinRegistry
from monitor.registry.adapters.mlflow import REGISTERED_BY_TAG, MlflowRegistry
from monitor.spec import ModelSpec
from monitor.store import models as store
from tests.conftest import free_port, session
from tests.support.mlflow_server import mlflow_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
#: MLflow-side behaviour does not depend on modelwatch's database; one backend keeps these fast.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def reference(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.3).astype(int)
    return pd.DataFrame({"amount": rng.gamma(2, 50, n), "label": label, "prediction": label,
                         "score": np.clip(label * 0.8 + 0.1, 0, 1)})


def make_spec(**registry) -> ModelSpec:
    return ModelSpec.model_validate({"name": "fraud", "task": "binary_classification",
                                     "columns": {"numeric": ["amount"]}, "registry": registry or {"kind": "builtin"}})


def local(url: str) -> dict[str, tuple[bool, str]]:
    with session(url) as s:
        model = store.get_model(s, "fraud")
        return {v.version: (v.serving, v.status) for v in store.list_versions(s, model.id)}


def test_builtin_adapter_registers_a_candidate_promotes_and_rolls_back(db_url):
    spec = make_spec()
    with session(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        registry = adapter_for(model, spec)
        assert isinstance(registry, BuiltinRegistry)
        assert registry.serving_version() is None and registry.rollback() is None
        assert registry.register_candidate("1", reference=reference()) == "1"
        assert registry.serving_version() is None  # a candidate does not serve until promoted
        assert registry.promote("1") == Move(None, "1")
        assert registry.register_candidate(None) == "2"  # next free number; inherits the reference
        assert registry.promote("2") == ("1", "2")
        assert store.reference_for(s, model.id, "2").baseline_kpis == store.reference_for(s, model.id, "1").baseline_kpis
    with session(db_url) as s:
        registry = adapter_for(store.get_model(s, "fraud"), spec)
        assert registry.rollback() == Move("2", "1")
        assert [(v.version, v.serving) for v in registry.list_versions()] == [("1", True), ("2", False)]
    assert local(db_url) == {"1": (True, "serving"), "2": (False, "rolled_back")}


def test_adapter_for_needs_a_session(db_url):
    spec = make_spec()
    with session(db_url) as s:
        model, _ = store.upsert_model(s, spec)
    with pytest.raises(RegistryError, match="not attached to a session"):
        adapter_for(model, spec)


@sqlite_only
def test_mlflow_adapter_moves_the_alias_and_mirrors_every_move(db_url, mlflow_server):
    from mlflow.tracking import MlflowClient

    name = f"fraud-{uuid.uuid4().hex[:8]}"
    spec = make_spec(kind="mlflow", tracking_uri=mlflow_server, name=name, alias="champion")
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    with session(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        registry = adapter_for(model, spec)
        assert isinstance(registry, MlflowRegistry)
        assert registry.serving_version() is None and registry.rollback() is None
        first = registry.register_candidate("1", reference=reference(), source="s3://models/fraud/1")
        assert first == "1"
        created = client.get_model_version(name, first)
        assert created.source == "s3://models/fraud/1" and created.tags[REGISTERED_BY_TAG] == "modelwatch"
        assert registry.promote(first) == Move(None, "1")
        second = registry.register_candidate("7")  # MLflow numbers versions itself
        assert second == "2"
        assert registry.promote(second) == Move("1", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert local(db_url) == {"1": (False, "retired"), "2": (True, "serving")}

    with session(db_url) as s:
        registry = adapter_for(store.get_model(s, "fraud"), spec)
        assert registry.rollback() == Move("2", "1")
        assert [(v.version, v.serving) for v in registry.list_versions()] == [("1", True), ("2", False)]
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert local(db_url) == {"1": (True, "serving"), "2": (False, "rolled_back")}


@sqlite_only
def test_mlflow_rollback_without_history_takes_the_highest_earlier_version(db_url, mlflow_server):
    """Versions made and promoted in MLflow alone: modelwatch has no record of the alias's moves."""
    from mlflow.tracking import MlflowClient

    name = f"fraud-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    client.create_registered_model(name)
    for i in (1, 2, 3):
        client.create_model_version(name, f"s3://models/{name}/{i}")
    client.set_registered_model_alias(name, "prod", "3")
    spec = make_spec(kind="mlflow", tracking_uri=mlflow_server, name=name, alias="prod")
    with session(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        assert adapter_for(model, spec).rollback() == Move("3", "2")
    with session(db_url) as s:
        assert adapter_for(store.get_model(s, "fraud"), spec).rollback() == Move("2", "1")
    assert client.get_model_version_by_alias(name, "prod").version == "1"
    assert local(db_url) == {"1": (True, "serving"), "2": (False, "rolled_back"), "3": (False, "rolled_back")}
    with session(db_url) as s:
        assert adapter_for(store.get_model(s, "fraud"), spec).rollback() is None  # nothing earlier than 1


@sqlite_only
def test_mlflow_failure_names_the_server_and_changes_nothing_locally(db_url, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    dead = f"http://127.0.0.1:{free_port()}"
    spec = make_spec(kind="mlflow", tracking_uri=dead)
    with pytest.raises(RegistryError, match=dead):
        with session(db_url) as s:
            model, _ = store.upsert_model(s, spec)
            adapter_for(model, spec).register_candidate("1")
    with session(db_url) as s:
        assert store.list_models(s) == []  # the decision's transaction rolled back whole


@sqlite_only
def test_the_rollback_action_moves_the_mlflow_alias(db_url, mlflow_server):
    """The recovery action goes through adapter_for: with ``registry.kind: mlflow`` a rollback
    moves the alias on the MLflow server, not only modelwatch's own table."""
    from mlflow.tracking import MlflowClient

    from monitor.db.schema import RecoveryAction, utcnow
    from monitor.recovery import ActionContext
    from monitor.recovery.actions.rollback import Rollback

    name = f"fraud-{uuid.uuid4().hex[:8]}"
    spec = make_spec(kind="mlflow", tracking_uri=mlflow_server, name=name, alias="champion")
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    with session(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        registry = adapter_for(model, spec)
        registry.promote(registry.register_candidate("1", reference=reference()))
        registry.promote(registry.register_candidate("2"))
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    with session(db_url) as s:
        model = store.get_model(s, "fraud")
        action = RecoveryAction(model_id=model.id, kind="rollback", state="running", run_id="r1",
                                dedup_key="alert:1:rollback", reason="recall_drop", eta=utcnow())
        s.add(action)
        s.flush()
        outcome = Rollback().run(ActionContext(s, model, spec, action))
    assert outcome.ok and (outcome.details["from_version"], outcome.details["to_version"]) == ("2", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert local(db_url) == {"1": (True, "serving"), "2": (False, "rolled_back")}


def test_mlflow_errors_never_show_the_tracking_uris_password(db_url, monkeypatch):
    """A recovery action stores the adapter's error, and the API, dashboard and report show it."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    port = free_port()
    spec = make_spec(kind="mlflow", tracking_uri=f"http://alice:hunter2@127.0.0.1:{port}")
    with pytest.raises(RegistryError) as raised:
        with session(db_url) as s:
            model, _ = store.upsert_model(s, spec)
            adapter_for(model, spec).register_candidate("1")
    assert f"http://alice:***@127.0.0.1:{port}" in str(raised.value)
    assert "hunter2" not in str(raised.value)
