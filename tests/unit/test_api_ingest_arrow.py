"""Batches sent as Arrow IPC streams (HTTP) and as tables or DataFrames (the Python client) get
the answers a JSON batch / a list of dicts gets: the same counts and the same quarantine reasons."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from frontdoors.api.app import create_app
from monitor.client import Client
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.migrate import upgrade
from monitor.spec import ModelSpec
from monitor.store import logs, models as store

WRITE = {"Authorization": "Bearer w"}
ARROW = {**WRITE, "Content-Type": "application/vnd.apache.arrow.stream"}
SPEC = {"name": "churn", "task": "binary_classification", "every": "5m", "window": "1h",
        "columns": {"numeric": ["age"], "categorical": ["plan"]}}


@pytest.fixture
def settings(tmp_path):
    settings = Settings(data_dir=tmp_path, api_token="w", read_token="r", max_body_bytes=1 << 20, max_batch_rows=5)
    upgrade(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        for name in ("churn", "churn_json"):
            store.upsert_model(session, ModelSpec.model_validate(dict(SPEC, name=name)))
    return settings


def _rows() -> list[dict]:
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    good = {"request_id": "a", "ts": now, "prediction": 1, "score": 0.8, "age": 41.0, "plan": "pro"}
    return [good,
            dict(good, request_id="b", ts="yesterday"),
            dict(good, request_id="c", score=1.7),
            dict(good, request_id="a"),                       # repeats "a" in the batch
            dict(good, request_id="d", prediction=None)]      # no prediction


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_an_arrow_stream_gets_the_answer_of_the_same_rows_as_json(settings):
    api = TestClient(create_app(settings))
    rows = _rows()
    arrow = api.post("/v1/models/churn/predictions", headers=ARROW, content=_stream(pa.Table.from_pylist(rows)))
    as_json = api.post("/v1/models/churn_json/predictions", headers=WRITE, json={"rows": rows})
    assert arrow.status_code == 200, arrow.text
    arrow_body, json_body = arrow.json(), as_json.json()
    assert (arrow_body["received"], arrow_body["accepted"], arrow_body["duplicates"], arrow_body["quarantined"]) == \
        (5, 1, 1, 3)
    assert arrow_body["rejected"] == json_body["rejected"]
    with session_scope(settings.effective_database_url) as session:
        model_id = store.get_model(session, "churn").id
        assert [(q.row_number, q.reason) for q in logs.quarantined(session, model_id)][::-1] == \
            [(r["row"], r["reason"]) for r in json_body["rejected"]]


@pytest.mark.parametrize("body, status, words", [
    (b"", 400, "empty request body"),
    (b'{"rows": []}', 400, "not an Arrow IPC stream"),
])
def test_a_body_that_is_not_an_arrow_stream_is_a_clear_400(settings, body, status, words):
    answer = TestClient(create_app(settings)).post("/v1/models/churn/predictions", headers=ARROW, content=body)
    assert answer.status_code == status and words in answer.json()["detail"]


def test_an_arrow_stream_over_the_row_limit_is_413_naming_the_setting(settings):
    table = pa.Table.from_pylist([dict(_rows()[0], request_id=f"r{i}") for i in range(6)])
    answer = TestClient(create_app(settings)).post("/v1/models/churn/predictions", headers=ARROW,
                                                   content=_stream(table))
    assert answer.status_code == 413 and "MODELWATCH_MAX_BATCH_ROWS" in answer.json()["detail"]


@pytest.mark.parametrize("shape", [pa.Table.from_pylist, pd.DataFrame])
def test_the_client_takes_a_table_or_dataframe_with_the_answers_of_dicts(settings, shape):
    rows = _rows()
    typed = Client("churn", settings).log_predictions(shape(rows))
    dicts = Client("churn_json", settings).log_predictions(rows)
    assert typed == dicts
    assert (typed.accepted, typed.duplicates, typed.quarantined) == (1, 1, 3)
