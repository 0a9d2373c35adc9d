"""HTTP batch ingestion (in process, on SQLite): the file/client validator, quarantine, limits."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from frontdoors.api.app import create_app
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.ingest import validate_records
from monitor.spec import ModelSpec
from monitor.store import logs, models as store

WRITE = {"Authorization": "Bearer w"}
READ = {"Authorization": "Bearer r"}
SPEC = {"name": "churn", "task": "binary_classification", "every": "5m", "window": "1h",
        "columns": {"numeric": ["age"], "categorical": ["plan"]},
        "alerts": [{"webhook": {"url": "https://ops:pw@hooks.example/x", "secret": "whsec-123"}}]}


@pytest.fixture
def api(tmp_path, migrate):
    settings = Settings(data_dir=tmp_path, api_token="w", read_token="r", max_body_bytes=4096, max_batch_rows=5)
    migrate(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        store.upsert_model(session, ModelSpec.model_validate(SPEC))
    client = TestClient(create_app(settings))
    client.url = settings.effective_database_url
    return client


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


GOOD = {"request_id": "a", "ts": None, "prediction": 1, "score": 0.8, "age": 41, "plan": "pro"}


def test_a_batch_keeps_good_rows_and_names_each_bad_one(api):
    rows = [dict(GOOD, ts=_now()),
            dict(GOOD, request_id="b", ts="yesterday"),
            dict(GOOD, request_id="c", ts=_now(), score=1.7),
            dict(GOOD, request_id="a", ts=_now()),          # repeats "a" in the batch
            {"request_id": "d", "ts": _now()}]                # no prediction
    answer = api.post("/v1/models/churn/predictions", headers=WRITE, json={"rows": rows})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["received"], body["accepted"], body["duplicates"], body["quarantined"]) == (5, 1, 1, 3)
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert set(reasons) == {1, 2, 4}
    assert "column 'ts'" in reasons[1] and "timestamp" in reasons[1]
    assert "score 1.7 is outside [0, 1]" in reasons[2]
    assert "column 'prediction'" in reasons[4]
    # the same reasons the CLI/client validator gives, row numbers included
    expected = validate_records(rows, "predictions", ModelSpec.model_validate(SPEC))
    assert [(r.row_number, r.reason) for r in expected.rejected] == [(r["row"], r["reason"]) for r in body["rejected"]]
    with session_scope(api.url) as session:
        model = store.get_model(session, "churn")
        kept = logs.quarantined(session, model.id)
        assert sorted(q.row_number for q in kept) == [2, 3, 5]
        assert {q.source for q in kept} == {"api:token:admin"}
    again = api.post("/v1/models/churn/predictions", headers=WRITE, json={"rows": rows[:1]}).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_labels_join_predictions_by_request_id(api):
    api.post("/v1/models/churn/predictions", headers=WRITE, json={"rows": [dict(GOOD, ts=_now())]})
    body = api.post("/v1/models/churn/labels", headers=WRITE,
                    json={"rows": [{"request_id": "a", "label": 0}, {"request_id": "", "label": 1}]}).json()
    assert (body["accepted"], body["quarantined"]) == (1, 1)
    assert "empty request id" in body["rejected"][0]["reason"]


def test_writes_need_a_write_token(api):
    assert api.post("/v1/models/churn/labels", json={"rows": []}).status_code == 401
    assert api.post("/v1/models/churn/labels", headers=READ, json={"rows": []}).status_code == 403


def test_limits_refuse_with_413_naming_the_setting(api):
    too_many = api.post("/v1/models/churn/labels", headers=WRITE,
                        json={"rows": [{"request_id": str(i), "label": 1} for i in range(6)]})
    assert too_many.status_code == 413 and "MODELWATCH_MAX_BATCH_ROWS" in too_many.json()["detail"]
    big = json.dumps({"rows": [{"request_id": "x" * 5000, "label": 1}]})
    too_big = api.post("/v1/models/churn/labels", headers={**WRITE, "Content-Type": "application/json"}, content=big)
    assert too_big.status_code == 413 and "MODELWATCH_MAX_BODY_BYTES" in too_big.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while streaming
        yield b'{"rows": ['
        for _ in range(200):
            yield b'{"request_id": "r", "label": 1},'
        yield b"]}"

    streamed = api.post("/v1/models/churn/labels", headers=WRITE, content=chunks())
    assert streamed.status_code == 413


@pytest.mark.parametrize("body, status, words", [
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "empty request body"),
    (b'{"data": []}', 422, '{"rows": [...]}'),
    (b"3", 422, '{"rows": [...]}'),
    (b'{"rows": {"a": 1}}', 422, "array of objects"),
    (b'{"rows": [], "extra": 1}', 422, "unknown field"),
    (b"[" * 5000 + b"]" * 5000, 413, "MAX_BODY_BYTES"),
])
def test_malformed_bodies_get_a_clear_4xx(api, body, status, words):
    answer = api.post("/v1/models/churn/predictions", headers={**WRITE, "Content-Type": "application/json"},
                      content=body)
    assert answer.status_code == status and words in answer.json()["detail"]


def test_non_object_rows_are_quarantined_not_fatal(api):
    body = api.post("/v1/models/churn/labels", headers=WRITE,
                    json={"rows": [1, None, {"request_id": "z", "label": 1}]}).json()
    assert (body["accepted"], body["quarantined"]) == (1, 2)
    assert all("expected an object" in r["reason"] for r in body["rejected"])


def test_unknown_model_is_404(api):
    answer = api.post("/v1/models/nosuch/labels", headers=WRITE, json={"rows": []})
    assert answer.status_code == 404 and "churn" in answer.json()["detail"]


def test_every_endpoint_refuses_a_declared_oversized_body(api):
    answer = api.post("/v1/models/churn/checks", headers={**WRITE, "Content-Type": "application/json"},
                      content=b"x" * 5000)
    assert answer.status_code == 413 and "MODELWATCH_MAX_BODY_BYTES" in answer.json()["detail"]


def test_the_client_and_the_api_validate_alike(api, tmp_path):
    from monitor.client import Client

    rows = [dict(GOOD, request_id="c1", ts=_now()), dict(GOOD, request_id="c2", ts="never")]
    over_http = api.post("/v1/models/churn/predictions", headers=WRITE, json={"rows": rows}).json()
    direct = Client("churn", Settings(data_dir=tmp_path), source="serving").log_predictions(rows)
    assert (direct.accepted, direct.duplicates, direct.quarantined) == (0, 1, 1)  # c1 already came over HTTP
    assert direct.reasons == [f"row {r['row']}: {r['reason']}" for r in over_http["rejected"]]
    with session_scope(api.url) as session:
        sources = [q.source for q in logs.quarantined(session, store.get_model(session, "churn").id)]
    assert sorted(sources) == ["api:token:admin", "serving"]


def test_a_bare_array_is_a_batch_too(api):
    body = api.post("/v1/models/churn/labels", headers=WRITE, json=[{"request_id": "q", "label": 1}, 7]).json()
    assert (body["received"], body["accepted"], body["quarantined"]) == (2, 1, 1)



def test_a_boolean_among_numbers_gets_the_column_by_column_answer(api):
    """A body with true/false does not take the one-pass column building (Arrow's struct
    inference would read False among floats as 0.0): a regression's prediction False is
    quarantined as the client and the CLI quarantine it; without booleans, one pass, same answers."""
    spec = ModelSpec.model_validate(dict(SPEC, name="price", task="regression"))
    with session_scope(api.url) as session:
        store.upsert_model(session, spec)
    rows = [dict(GOOD, request_id="b1", ts=_now(), prediction=False, score=None),  # a bool first: Arrow
            dict(GOOD, request_id="b2", ts=_now(), prediction=2.5, score=None)]    # refuses the column
    answer = api.post("/v1/models/price/predictions", headers=WRITE, json={"rows": rows}).json()
    assert [(r["row"], r["reason"]) for r in answer["rejected"]] == [(1, "column 'prediction': expected a number, got False")]
    expected = validate_records(rows, "predictions", spec)
    assert [(r.row_number, r.reason) for r in expected.rejected] == [(r["row"], r["reason"]) for r in answer["rejected"]]
    rows = [dict(GOOD, request_id="n1", ts=_now(), prediction=2.5, score=None),
            dict(GOOD, request_id="n2", ts=_now(), prediction="high", score=None)]
    answer = api.post("/v1/models/price/predictions", headers=WRITE, json={"rows": rows}).json()
    assert [(r["row"], r["reason"]) for r in answer["rejected"]] == [(2, "column 'prediction': cannot parse 'high' as a number")]
