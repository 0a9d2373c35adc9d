"""The HTTP API over real HTTP: a `modelwatch serve` process, a worker, the embedded default."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import ROOT, free_port, wait_for
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration


def test_api_forces_a_check_with_a_token_and_serves_its_report_and_metrics(embedded_stack, tmp_path):
    stack = embedded_stack
    stack.env["MODELWATCH_API_TOKEN"] = "t0ken"
    stack.env["MODELWATCH_READ_TOKEN"] = "r3ad"
    read = {"Authorization": "Bearer r3ad"}
    port = free_port()
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_model(tmp_path, hook.url)))
        predictions, labels = write_window(tmp_path, version="1", recall=0.5)
        stack.cli("ingest", "predictions", str(predictions), "--model", MODEL)
        stack.cli("ingest", "labels", str(labels), "--model", MODEL)
        stack.worker()
        api = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "serve", "--port", str(port)], env=stack.env,
                               stdout=open(stack.logs / "api.log", "wb"), stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _get(f"{base}/healthz"), 30, "the API to answer")
            assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
            assert httpx.get(f"{base}/v1/models").status_code == 401
            assert [m["name"] for m in httpx.get(f"{base}/v1/models", headers=read).json()] == [MODEL]
            assert httpx.post(f"{base}/v1/models/{MODEL}/checks").status_code == 401
            assert httpx.post(f"{base}/v1/models/{MODEL}/checks", headers=read).status_code == 403
            assert httpx.post(f"{base}/v1/models/{MODEL}/checks",
                              headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert httpx.get(f"{base}/v1/models/nosuch/runs", headers=read).status_code == 404
            created = httpx.post(f"{base}/v1/models/{MODEL}/checks", headers={"Authorization": "Bearer t0ken"})
            assert created.status_code == 202
            run_id = created.json()["run_id"]
            summary = wait_for(lambda: _finished(f"{base}/v1/runs/{run_id}", read), 60, "the check to finish")
            assert summary["status"] == "succeeded"
            assert [f["rule"] for f in summary["findings"]
                    if f["status"] == "firing" and f["kind"] == "performance_drop"] == ["recall_drop"]
            report = httpx.get(f"{base}/v1/runs/{run_id}/report", headers=read)
            assert report.status_code == 200 and "<svg" in report.text
            families = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{base}/metrics").text)}
            recall = [s for s in families["modelwatch_kpi"].samples if s.labels["kpi"] == "recall"]
            assert recall and recall[0].labels["model"] == MODEL and recall[0].value < 0.6
            alerts = families["modelwatch_open_alerts"].samples
            assert {s.labels["model"] for s in alerts} == {MODEL}
            assert sum(s.value for s in alerts) == len(summary["alerts"]) >= 1
        finally:
            api.terminate()
            api.wait(10)


def _get(url: str):
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _finished(url: str, headers: dict):
    summary = httpx.get(url, headers=headers).json()
    return summary if summary["status"] in ("succeeded", "failed") else None
