"""What a verified registry-hook delivery records, on SQLite and PostgreSQL: the version, the
serving flag, an audit row, the delivery id (a replay does nothing twice), and MLflow events that
echo modelwatch's own moves are recognised, even while that move is still committing."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select

from monitor.db.schema import AuditEvent, RegistryDelivery
from monitor.errors import NotFound
from monitor.registry import hook
from monitor.registry.adapters.base import hold_model
from monitor.registry.signatures import VerifiedDelivery
from monitor.spec import ModelSpec
from monitor.store import models as store
from tests.conftest import session

pytestmark = pytest.mark.integration


def register_models(url: str) -> None:
    with session(url) as s:
        plain, _ = store.upsert_model(s, ModelSpec(name="fraud", task="binary_classification"))
        store.add_version(s, plain.id, "1")
        store.set_serving(s, plain.id, "1")
        store.upsert_model(s, ModelSpec.model_validate({
            "name": "churn", "task": "binary_classification", "registry_check_delay": "30s",
            "registry": {"kind": "mlflow", "tracking_uri": "http://mlflow:5000", "name": "churn-prod"}}))


def deliver(url: str, source: str, delivery_id: str, body: dict) -> hook.HookOutcome:
    delivery = VerifiedDelivery(source, delivery_id, int(time.time()))
    with session(url) as s:
        return hook.receive(s, delivery, hook.parse(source, json.dumps(body).encode()))


def mlflow_event(event: str, **data) -> dict:
    entity, action = event.rsplit(".", 1)
    return {"entity": entity, "action": action, "timestamp": "2027-01-15T08:00:00+00:00", "data": data}


def versions(url: str, name: str) -> dict[str, bool]:
    with session(url) as s:
        return {v.version: v.serving for v in store.list_versions(s, store.get_model(s, name).id)}


def test_plain_delivery_records_and_serves_the_version_once(db_url):
    register_models(db_url)
    first = deliver(db_url, "plain", "d-1", {"model": "fraud", "version": "2"})
    assert (first.status, first.model, first.version, first.check_delay) == ("accepted", "fraud", "2", 0.0)
    assert versions(db_url, "fraud") == {"1": False, "2": True}
    replay = deliver(db_url, "plain", "d-1", {"model": "fraud", "version": "2"})
    assert (replay.status, replay.model, replay.check_delay) == ("duplicate", "fraud", None)
    candidate = deliver(db_url, "plain", "d-2", {"model": "fraud", "version": "3", "serving": False})
    assert candidate.status == "accepted"
    assert versions(db_url, "fraud") == {"1": False, "2": True, "3": False}
    with session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(RegistryDelivery)) == 2
        trail = [(e.actor, e.action, e.subject) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert trail == [("registry:plain", "promote", "version:2"), ("registry:plain", "register", "version:3")]
    with pytest.raises(NotFound, match="no model named 'nosuch'"):
        deliver(db_url, "plain", "d-3", {"model": "nosuch", "version": "1"})


def test_mlflow_events_follow_the_serving_alias_and_ignore_the_rest(db_url):
    register_models(db_url)
    created = deliver(db_url, "mlflow", "m-1", mlflow_event("model_version.created", name="churn-prod", version="4",
                                                            source="s3://m/4", run_id=None, tags={}, description=None))
    assert (created.status, created.model, created.check_delay) == ("accepted", "churn", 30.0)
    assert versions(db_url, "churn") == {"4": False}
    alias = deliver(db_url, "mlflow", "m-2", mlflow_event("model_version_alias.created", name="churn-prod",
                                                          alias="champion", version="4"))
    assert alias.status == "accepted" and versions(db_url, "churn") == {"4": True}
    again = deliver(db_url, "mlflow", "m-3", mlflow_event("model_version_alias.created", name="churn-prod",
                                                          alias="champion", version="4"))
    assert again.status == "recorded" and again.check_delay is None and "already serves" in again.detail
    known = deliver(db_url, "mlflow", "m-4", mlflow_event("model_version.created", name="churn-prod", version="4",
                                                          source="s3://m/4", run_id=None, tags={}, description=None))
    assert known.status == "recorded" and known.check_delay is None
    for delivery_id, body in (
            ("m-5", mlflow_event("model_version_alias.created", name="churn-prod", alias="challenger", version="5")),
            ("m-6", mlflow_event("model_version.created", name="other-model", version="1", source="s3://o/1",
                                 run_id=None, tags={}, description=None)),
            ("m-7", mlflow_event("model_version_tag.set", name="churn-prod", version="4", key="k", value="v"))):
        outcome = deliver(db_url, "mlflow", delivery_id, body)
        assert outcome.status == "ignored" and outcome.check_delay is None, outcome
    assert versions(db_url, "churn") == {"4": True}
    with session(db_url) as s:
        outcomes = dict(s.execute(select(RegistryDelivery.delivery_id, RegistryDelivery.outcome)).all())
    assert outcomes == {"m-1": "accepted", "m-2": "accepted", "m-3": "recorded", "m-4": "recorded",
                        "m-5": "ignored", "m-6": "ignored", "m-7": "ignored"}


def test_alias_echo_waits_for_modelwatchs_own_move_to_commit(db_url):
    """The registry adapter holds the model row while it mirrors a move; the echo MLflow sends
    for that move, arriving before the commit, must find the move and not check again."""
    register_models(db_url)
    results: list[hook.HookOutcome] = []
    with session(db_url) as s:
        model = store.get_model(s, "churn")
        hold_model(s, model)  # what MlflowRegistry.promote/rollback do first
        store.add_version(s, model.id, "9", source="mlflow")
        store.set_serving(s, model.id, "9")
        echo = threading.Thread(target=lambda: results.append(deliver(
            db_url, "mlflow", "echo-1", mlflow_event("model_version_alias.created", name="churn-prod",
                                                     alias="champion", version="9"))))
        echo.start()
        time.sleep(1.0)  # the echo arrives while the move is uncommitted
    echo.join(60)
    assert [r.status for r in results] == ["recorded"], results
    assert versions(db_url, "churn") == {"9": True}
