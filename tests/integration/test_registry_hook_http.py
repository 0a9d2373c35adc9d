"""The registry hook over real HTTP: `modelwatch serve`, a real worker on the embedded default,
a signed plain delivery and a real MLflow server's webhooks each run a check of the announced
version; unsigned, wrongly signed, stale and replayed deliveries do nothing."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import httpx
import pytest
import yaml
from sqlalchemy import select

from monitor.db.schema import CheckRun, RegistryDelivery
from frontdoors.demo.receiver import WebhookReceiver
from monitor.registry import Move, adapter_for
from monitor.registry.signatures import sign_plain
from monitor.store import models as store
from tests.conftest import ROOT, free_port, session, wait_for
from tests.support.mlflow_server import mlflow_server  # noqa: F401  (fixture)
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration
SECRET = "hook-s3cret"


def serve(stack) -> tuple[subprocess.Popen, str]:
    port = free_port()
    api = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "serve", "--port", str(port)], env=stack.env,
                           stdout=open(stack.logs / "api.log", "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(f"{base}/healthz") or api.poll() is not None, 90, "the API to answer")
        assert api.poll() is None, (stack.logs / "api.log").read_text()
    except BaseException:  # never answered: stop it here, the caller's `finally` never gets it
        api.kill()
        api.wait(10)
        raise
    return api, base


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def registry_runs(url: str, finished: bool = True) -> list[CheckRun]:
    with session(url) as s:
        runs = s.scalars(select(CheckRun).where(CheckRun.trigger == "registry").order_by(CheckRun.created_at)).all()
        return [r for r in runs if not finished or r.status in ("succeeded", "failed")]


def deliveries(url: str) -> list[RegistryDelivery]:
    with session(url) as s:
        return list(s.scalars(select(RegistryDelivery).order_by(RegistryDelivery.id)))


def test_signed_plain_hook_enqueues_a_check_that_runs_once(embedded_stack, tmp_path):
    stack = embedded_stack
    stack.env["MODELWATCH_WEBHOOK_SECRET"] = SECRET
    url = stack.database_url
    with WebhookReceiver() as alerts:
        stack.cli("apply", "-f", str(write_model(tmp_path, alerts.url)))
        predictions, labels = write_window(tmp_path, version="2", recall=0.9)
        stack.cli("ingest", "predictions", str(predictions), "--model", MODEL)
        stack.cli("ingest", "labels", str(labels), "--model", MODEL)
        stack.worker()
        api, base = serve(stack)
        try:
            hook = f"{base}/v1/hooks/registry"
            body = json.dumps({"model": MODEL, "version": "2"}).encode()
            unsigned = httpx.post(hook, content=body)
            assert unsigned.status_code == 401 and "unsigned" in unsigned.json()["detail"]
            wrong = httpx.post(hook, content=body, headers=sign_plain("guess", body))
            assert wrong.status_code == 401 and "wrong signature" in wrong.json()["detail"]
            stale = httpx.post(hook, content=body, headers=sign_plain(SECRET, body, now=time.time() - 3600))
            assert stale.status_code == 400 and "stale" in stale.json()["detail"]
            huge = httpx.post(hook, content=b"x" * (2 << 20), headers=sign_plain(SECRET, b"x"))
            assert huge.status_code == 413
            assert deliveries(url) == [] and registry_runs(url, finished=False) == []

            headers = sign_plain(SECRET, body)
            accepted = httpx.post(hook, content=body, headers=headers)
            assert accepted.status_code == 202, accepted.text
            assert accepted.json()["status"] == "accepted" and accepted.json()["task_id"]
            replay = httpx.post(hook, content=body, headers=headers)
            assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
            assert "task_id" not in replay.json()

            run = wait_for(lambda: (registry_runs(url) or [None])[0], 90, "the registry check to finish")
            assert (run.status, run.version) == ("succeeded", "2"), run.error
            assert run.watermark["rows"] == 800
            [delivery] = deliveries(url)
            assert (delivery.source, delivery.outcome, delivery.version) == ("plain", "enqueued", "2")
            assert delivery.task_id == accepted.json()["task_id"]
            with session(url) as s:
                assert store.serving_version(s, store.get_model(s, MODEL).id).version == "2"
            assert len(registry_runs(url, finished=False)) == 1
        finally:
            api.terminate()
            api.wait(10)


def test_mlflow_webhooks_run_checks_and_modelwatchs_own_rollback_is_recognised(embedded_stack, mlflow_server,
                                                                                 tmp_path):
    from mlflow.tracking import MlflowClient

    stack = embedded_stack
    stack.env["MODELWATCH_WEBHOOK_SECRET"] = SECRET
    url = stack.database_url
    name = f"fraud-{uuid.uuid4().hex[:8]}"
    with WebhookReceiver() as alerts:
        spec_path = write_model(tmp_path, alerts.url)
        document = yaml.safe_load(spec_path.read_text())
        document["models"][0]["registry"] = {"kind": "mlflow", "tracking_uri": mlflow_server, "name": name}
        spec_path.write_text(yaml.safe_dump(document))
        stack.cli("apply", "-f", str(spec_path))
        stack.worker()
        api, base = serve(stack)
        try:
            client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
            client.create_webhook(f"modelwatch-{name}", f"{base}/v1/hooks/registry",
                                  ["model_version.created", "model_version_alias.created"], secret=SECRET)
            client.create_registered_model(name)
            # Version 1 is the one `apply` registered with the spec's reference data: MLflow's
            # announcements of it change nothing.
            client.create_model_version(name, f"s3://models/{name}/1")
            wait_for(lambda: len(deliveries(url)) == 1, 60, "MLflow's delivery of version 1")  # keeps them in order
            client.set_registered_model_alias(name, "champion", "1")
            wait_for(lambda: len(deliveries(url)) == 2, 60, "MLflow's deliveries about version 1")
            client.create_model_version(name, f"s3://models/{name}/2")
            wait_for(lambda: _known(url, "2"), 60, "the model_version.created delivery of version 2")
            client.set_registered_model_alias(name, "champion", "2")
            wait_for(lambda: _serving(url) == "2", 60, "the alias delivery to make version 2 serve")

            # modelwatch's own rollback (what the rollback action does) moves MLflow's alias back;
            # MLflow's webhook for that move is recognised and checks nothing again.
            with session(url) as s:
                model = store.get_model(s, MODEL)
                assert adapter_for(model, store.spec_of(model)).rollback() == Move("2", "1")
            wait_for(lambda: len(deliveries(url)) == 5, 60, "MLflow's echo of the rollback")
            assert client.get_model_version_by_alias(name, "champion").version == "1"
            assert _serving(url) == "1"

            events = [(d.source, d.event, d.version, d.outcome) for d in deliveries(url)]
            assert events == [("mlflow", "model_version.created", "1", "recorded"),
                              ("mlflow", "model_version_alias.created", "1", "recorded"),
                              ("mlflow", "model_version.created", "2", "enqueued"),
                              ("mlflow", "model_version_alias.created", "2", "enqueued"),
                              ("mlflow", "model_version_alias.created", "1", "recorded")]
            assert [d.task_id is not None for d in deliveries(url)] == [False, False, True, True, False]
            # Both deliveries about version 2 asked for a check: one run, or two if they fell in
            # different seconds (a window is checked once). Nothing checks version 1.
            wait_for(lambda: _all_finished(url), 90, "the registry checks of version 2")
            runs = registry_runs(url)
            assert 1 <= len(runs) <= 2 and {(r.status, r.version) for r in runs} == {("succeeded", "2")}, \
                [r.error for r in runs]
        finally:
            api.terminate()
            api.wait(10)


def _all_finished(url: str) -> bool:
    started = registry_runs(url, finished=False)
    return bool(started) and len(registry_runs(url)) == len(started)


def _serving(url: str) -> str | None:
    with session(url) as s:
        row = store.serving_version(s, store.get_model(s, MODEL).id)
        return row.version if row else None


def _known(url: str, version: str) -> bool:
    with session(url) as s:
        return store.get_version(s, store.get_model(s, MODEL).id, version) is not None
