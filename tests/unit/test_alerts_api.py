"""The alert and silence endpoints the dashboard calls (TestClient over a migrated SQLite file):
the contract's shapes, who may call what, and the audit trail naming the token."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdoors.api.app import create_app
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.schema import Alert, AuditEvent, utcnow
from monitor.spec import parse_spec
from monitor.store import models as store_models

WRITE = {"Authorization": "Bearer w"}
READ = {"Authorization": "Bearer r"}


@pytest.fixture
def api(tmp_path, migrate):
    settings = Settings(data_dir=tmp_path, api_token="w", read_token="r", tokens="alice=a1")
    url = settings.effective_database_url
    migrate(url)
    with session_scope(url) as session:
        model, _ = store_models.upsert_model(session, parse_spec({"name": "churn", "task": "regression"})[0])
        for rule, state in (("mae_increase", "firing"), ("rmse_increase", "resolved")):
            session.add(Alert(model_id=model.id, rule=rule, kind="performance_drop", segment="", state=state,
                              severity="warning", message=f"{rule} {state}", first_run_id="r1", last_run_id="r1",
                              last_window_end=utcnow(), first_seen=utcnow(), last_seen=utcnow()))
    client = TestClient(create_app(settings))
    client.url = url
    return client


def _ids(response) -> list[tuple[str, str]]:
    return [(a["rule"], a["state"]) for a in response.json()]


def test_list_alerts_open_and_by_model(api):
    assert _ids(api.get("/v1/alerts", headers=READ)) == [("rmse_increase", "resolved"), ("mae_increase", "firing")]
    assert _ids(api.get("/v1/alerts?open=true&model=churn", headers=READ)) == [("mae_increase", "firing")]
    assert api.get("/v1/alerts?model=nope", headers=READ).status_code == 404
    assert api.get("/v1/alerts").status_code == 401


def test_ack_returns_the_alert_and_audits_the_token(api):
    alert_id = api.get("/v1/alerts?open=true", headers=READ).json()[0]["id"]
    assert api.post(f"/v1/alerts/{alert_id}/ack", json={"reason": "x"}, headers=READ).status_code == 403
    response = api.post(f"/v1/alerts/{alert_id}/ack", json={"reason": "on it"}, headers={"Authorization": "Bearer a1"})
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["state"], body["open"], body["acknowledged_by"]) == (alert_id, "acknowledged", True,
                                                                                   "token:alice")
    assert _ids(api.get("/v1/alerts?open=true", headers=READ)) == [("mae_increase", "acknowledged")]
    with session_scope(api.url) as s:
        trail = [(e.actor, e.action, e.subject, e.reason) for e in s.scalars(select(AuditEvent))]
    assert trail == [("token:alice", "acknowledge", f"alert:{alert_id}", "on it")]
    resolved = api.get("/v1/alerts", headers=READ).json()[0]["id"]
    assert api.post(f"/v1/alerts/{resolved}/ack", json={}, headers=WRITE).status_code == 409
    assert api.post("/v1/alerts/999/ack", json={}, headers=WRITE).status_code == 404


def test_silences_add_list_expire(api):
    created = api.post("/v1/silences", json={"model": "churn", "rule": "mae_increase", "duration": "2h",
                                              "comment": "retraining"}, headers=WRITE)
    assert created.status_code == 201
    silence = created.json()
    assert (silence["model"], silence["rule"], silence["severity"], silence["active"]) == ("churn", "mae_increase",
                                                                                           None, True)
    ends = dt.datetime.fromisoformat(silence["ends_at"])
    assert dt.timedelta(minutes=119) < ends - utcnow() <= dt.timedelta(hours=2)
    assert silence["created_by"] == "token:admin"
    until = (utcnow() + dt.timedelta(hours=1)).isoformat()
    second = api.post("/v1/silences", json={"severity": "critical", "ends_at": until, "comment": "x"}, headers=WRITE)
    assert second.status_code == 201
    assert [s["id"] for s in api.get("/v1/silences", headers=READ).json()] == [second.json()["id"], silence["id"]]

    expired = api.delete(f"/v1/silences/{silence['id']}", headers=WRITE)
    assert expired.status_code == 200 and expired.json()["active"] is False
    assert [s["id"] for s in api.get("/v1/silences", headers=READ).json()] == [second.json()["id"]]
    assert len(api.get("/v1/silences?all=true", headers=READ).json()) == 2
    with session_scope(api.url) as s:
        actions = [(e.actor, e.action) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == [("token:admin", "silence"), ("token:admin", "silence"), ("token:admin", "unsilence")]


@pytest.mark.parametrize("body, status, words", [
    ({"duration": "1h", "comment": "x"}, 422, "matcher"),
    ({"model": "churn", "comment": "x"}, 422, "exactly one"),
    ({"model": "churn", "duration": "1h", "ends_at": "2099-01-01T00:00:00Z", "comment": "x"}, 422, "exactly one"),
    ({"model": "churn", "ends_at": "2099-01-01T00:00:00", "comment": "x"}, 422, "time zone"),
    ({"model": "churn", "duration": "soon", "comment": "x"}, 422, "soon"),
    ({"model": "churn", "duration": "1h"}, 422, "comment"),
    ({"model": "churn", "severity": "page", "duration": "1h", "comment": "x"}, 422, "severity"),
    ({"model": "nope", "duration": "1h", "comment": "x"}, 404, "nope"),
])
def test_bad_silences_are_refused_naming_the_problem(api, body, status, words):
    response = api.post("/v1/silences", json=body, headers=WRITE)
    assert response.status_code == status and words in str(response.json()["detail"])


def test_silence_writes_need_a_write_token(api):
    assert api.post("/v1/silences", json={"model": "churn", "duration": "1h", "comment": "x"},
                    headers=READ).status_code == 403
    assert api.delete("/v1/silences/1", headers=READ).status_code == 403
    assert api.delete("/v1/silences/42", headers=WRITE).status_code == 404
