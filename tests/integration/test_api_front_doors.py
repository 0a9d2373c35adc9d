"""The API's front doors over real HTTP: a `modelwatch serve` process and a worker on the embedded
default. Batches with good and bad rows go in through HTTP; a check runs on them; the read
endpoints tell its story."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest
from sqlalchemy import select

from monitor.db.schema import QuarantinedRow
from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import session, wait_for
from tests.support.api_server import finished_run, serve
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration

WRITE = {"Authorization": "Bearer w-t0ken"}
READ = {"Authorization": "Bearer r-t0ken"}


def test_http_ingestion_then_a_check_then_every_read_endpoint(embedded_stack, tmp_path):
    stack = embedded_stack
    stack.env.update({"MODELWATCH_API_TOKEN": "w-t0ken", "MODELWATCH_READ_TOKEN": "r-t0ken",
                      "MODELWATCH_MAX_BATCH_ROWS": "400", "MODELWATCH_MAX_BODY_BYTES": "200000"})
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_model(tmp_path, hook.url, secret="whsec-front")))
        predictions, labels = write_window(tmp_path, version="1", recall=0.5, n=300)
        stack.worker()
        with serve(stack) as base:
            run_id = _ingest_and_check(base, predictions, labels)
            _read_everything(base, run_id)
    with session(stack.database_url) as s:
        kept = s.scalars(select(QuarantinedRow).order_by(QuarantinedRow.id)).all()
        assert [(q.kind, q.source) for q in kept] == [("predictions", "api:token:admin")] * 3 + [
            ("labels", "api:token:admin")]
        assert "score 2.0 is outside [0, 1]" in kept[1].reason and kept[1].row["request_id"] == "bad-score"


def _ingest_and_check(base: str, predictions, labels) -> str:
    rows = json.loads(pd.read_csv(predictions).to_json(orient="records"))
    good = len(rows)
    rows += [dict(rows[0], request_id="bad-ts", ts="next tuesday"),
             dict(rows[0], request_id="bad-score", score=2.0),
             {k: v for k, v in rows[0].items() if k != "prediction"} | {"request_id": "no-prediction"},
             rows[5]]  # a repeat
    sent = httpx.post(f"{base}/v1/models/{MODEL}/predictions", headers=WRITE, json={"rows": rows}, timeout=30)
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert (body["received"], body["accepted"], body["quarantined"], body["duplicates"]) == (good + 4, good, 3, 1)
    assert [(r["index"], r["reason"].split(":")[0]) for r in body["rejected"]] == [
        (good, "column 'ts'"), (good + 1, "column 'score'"), (good + 2, "column 'prediction' is missing")]

    label_rows = json.loads(pd.read_csv(labels).to_json(orient="records")) + [{"request_id": " ", "label": 1}]
    body = httpx.post(f"{base}/v1/models/{MODEL}/labels", headers=WRITE, json={"rows": label_rows}).json()
    assert (body["accepted"], body["quarantined"]) == (good, 1)

    too_many = httpx.post(f"{base}/v1/models/{MODEL}/labels", headers=WRITE,
                          json={"rows": [{"request_id": str(i), "label": 0} for i in range(401)]})
    assert too_many.status_code == 413 and "MODELWATCH_MAX_BATCH_ROWS" in too_many.json()["detail"]
    too_big = httpx.post(f"{base}/v1/models/{MODEL}/labels", headers=WRITE,
                         json={"rows": [{"request_id": "x", "label": "y" * 250_000}]})
    assert too_big.status_code == 413 and "MODELWATCH_MAX_BODY_BYTES" in too_big.json()["detail"]
    assert httpx.post(f"{base}/v1/models/{MODEL}/labels", headers=READ, json={"rows": []}).status_code == 403

    created = httpx.post(f"{base}/v1/models/{MODEL}/checks", headers=WRITE)
    assert created.status_code == 202
    run_id = created.json()["run_id"]
    summary = wait_for(lambda: finished_run(base, run_id, READ), 60, "the check to finish")
    assert summary["status"] == "succeeded" and summary["counts"]["rows"] == good
    return run_id


def _read_everything(base: str, run_id: str) -> None:
    def get(path: str, **params):
        answer = httpx.get(f"{base}{path}", headers=READ, params=params, timeout=10)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    detail = get(f"/v1/models/{MODEL}")
    assert detail["serving_version"] == "1" and detail["last_run"]["run_id"] == run_id
    assert [v["version"] for v in detail["versions"]] == ["1"] and detail["versions"][0]["reference_rows"] == 3000
    assert detail["spec"]["alerts"][1]["config"]["secret"] == "***"
    assert get(f"/v1/models/{MODEL}/versions") == detail["versions"]

    recall = get(f"/v1/models/{MODEL}/kpis", name="recall")["series"]["recall"]
    assert len(recall) == 1 and recall[0]["run_id"] == run_id
    assert recall[0]["value"] < 0.6 and recall[0]["baseline"] > 0.8
    assert {"accuracy", "precision", "recall"} <= set(get(f"/v1/models/{MODEL}/kpis")["series"])

    run_findings = get(f"/v1/runs/{run_id}/findings")
    assert {f["rule"] for f in run_findings if f["status"] == "firing"} >= {"recall_drop"}
    firing = get(f"/v1/models/{MODEL}/findings", status="firing", limit=50)
    assert "recall_drop" in {f["rule"] for f in firing} and {f["status"] for f in firing} == {"firing"}
    assert all(f["window_end"] for f in firing)

    reports = get(f"/v1/models/{MODEL}/reports")
    assert [r["run_id"] for r in reports] == [run_id] and reports[0]["firing"] >= 1
    html = httpx.get(f"{base}{reports[0]['html_url']}", headers=READ)
    assert html.status_code == 200 and "<svg" in html.text

    assert isinstance(get("/v1/audit", model=MODEL), list)
    assert httpx.get(f"{base}/v1/audit", headers=READ, params={"model": "nosuch"}).status_code == 404
    assert httpx.get(f"{base}/v1/models/{MODEL}/kpis").status_code == 401
