"""The check summary's ``events`` (what the report marks on KPI charts) come from the database:
each version's promotion is a deploy; finished rollbacks and retrains of the schedule are theirs."""

from __future__ import annotations

from monitor.check.summary import _events
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.migrate import upgrade
from monitor.spec import ModelSpec
from monitor.store import models as store


def test_promotions_and_finished_recovery_actions_are_events(tmp_path):
    url = Settings(data_dir=tmp_path).effective_database_url
    upgrade(url)
    with session_scope(url) as session:
        model, _ = store.upsert_model(session, ModelSpec(name="m", task="binary_classification"))
        for version in ("1", "2"):
            store.add_version(session, model.id, version)
            store.set_serving(session, model.id, version)
        store.add_version(session, model.id, "3")  # registered, never served: no deploy
        schedule = [
            {"id": 5, "kind": "rollback", "state": "succeeded", "finished_at": "2099-01-01T00:00:00+00:00"},
            {"id": 6, "kind": "retrain", "state": "failed", "finished_at": "2099-01-02T00:00:00+00:00"},
            {"id": 7, "kind": "notify", "state": "succeeded", "finished_at": "2099-01-03T00:00:00+00:00"},
        ]
        events = _events(session, model.id, schedule)
    assert [(e["kind"], e["label"]) for e in events] == [("deploy", "v1"), ("deploy", "v2"), ("rollback", "#5")]
