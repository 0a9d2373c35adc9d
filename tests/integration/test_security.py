"""Security proofs with the real things: workers refuse pickle; TLS to Redis from a rediss:// URL;
no secret reaches a log, an API answer or a report; hostile names are escaped in a real report."""

from __future__ import annotations

import builtins
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from celery import Celery
from sqlalchemy import func, select

from monitor.db.schema import CheckRun
from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import _stack, free_port, session, wait_for
from tests.support.api_server import finished_run, serve
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_sqlite_stack(tmp_path, request, redis_url):
    yield from _stack(tmp_path, request, {"MODELWATCH_BROKER_URL": redis_url})


class OpensAFile:
    """Unpickling this creates ``path``: the proof that a pickle body was deserialized."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return builtins.open, (self.path, "w")


def _runs(url: str) -> int:
    with session(url) as s:
        return s.scalar(select(func.count()).select_from(CheckRun))


def test_a_worker_refuses_pickle_messages_and_runs_json_ones(redis_sqlite_stack, tmp_path):
    stack = redis_sqlite_stack
    stack.cli("apply", "-f", str(write_model(tmp_path, "http://127.0.0.1:9/unused")))
    stack.worker(concurrency=1)
    marker = tmp_path / "deserialized"
    publisher = Celery(broker=stack.env["MODELWATCH_BROKER_URL"])
    # Same task, same queue: first as pickle (one would open a run, one would run code while
    # being deserialized), then as JSON. The worker takes them in order.
    publisher.send_task("tasks.check.run_check", args=[MODEL], kwargs={"rerun": True},
                        queue="checks", serializer="pickle")
    publisher.send_task("tasks.check.run_check", args=[OpensAFile(str(marker))], queue="checks",
                        serializer="pickle")
    publisher.send_task("tasks.check.run_check", args=[MODEL], queue="checks", serializer="json")
    wait_for(lambda: _runs(stack.database_url) >= 1, 30, "the JSON message to open a run")
    log = (stack.logs / "worker-w1.log").read_text()
    refusals = "kombu.exceptions.ContentDisallowed: Refusing to deserialize untrusted content of type pickle"
    assert log.count(refusals) == 2, log[-3000:]
    assert not marker.exists()
    assert _runs(stack.database_url) == 1
    import redis

    # Dropped, not requeued: the queue drains once the JSON run's own chain messages are consumed.
    broker = redis.Redis.from_url(stack.env["MODELWATCH_BROKER_URL"])
    wait_for(lambda: broker.llen("checks") == 0, 30, "the checks queue to drain")
    assert (stack.logs / "worker-w1.log").read_text().count(refusals) == 2  # refused once each


# --- TLS and secrets ----------------------------------------------------------------------------

REDIS_PASSWORD = "redis-pw-9c1e7"
PG_PASSWORD = "pg-pw-51af0"
API_TOKEN = "api-token-77d2b"
READ_TOKEN = "read-token-0b3f"
WEBHOOK_SECRET = "whsec-3e9a1"
SECRETS = (REDIS_PASSWORD, PG_PASSWORD, API_TOKEN, READ_TOKEN, WEBHOOK_SECRET)


@pytest.fixture
def tls_redis(tmp_path):
    """A redis-server that speaks only TLS (no plaintext port) and wants a password."""
    binary, openssl = shutil.which("redis-server"), shutil.which("openssl")
    if not binary or not openssl:
        pytest.skip("redis-server or openssl missing")
    folder = Path(tempfile.mkdtemp(prefix="mw-tls-"))
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--tls-cert-file",
         str(folder / "cert.pem"), "--tls-key-file", str(folder / "key.pem"), "--tls-ca-cert-file",
         str(folder / "cert.pem"), "--tls-auth-clients", "no", "--requirepass", REDIS_PASSWORD, "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=open(folder / "redis.log", "wb"), stderr=subprocess.STDOUT)
    url = (f"rediss://:{REDIS_PASSWORD}@127.0.0.1:{port}/0?ssl_cert_reqs=required"
           f"&ssl_ca_certs={folder / 'cert.pem'}")
    try:
        import redis

        client = redis.Redis.from_url(url)
        wait_for(lambda: process.poll() is not None or _pings(client), 15, "the TLS redis-server")
        if process.poll() is not None:
            pytest.skip(f"this redis-server has no TLS: {(folder / 'redis.log').read_text()[-300:]}")
        yield url
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def test_tls_redis_and_passwords_in_urls_work_and_no_secret_is_ever_shown(tmp_path, request, tls_redis,
                                                                          postgres_url):
    database_url = postgres_url.replace("postgres@", f"postgres:{PG_PASSWORD}@", 1)  # trust auth ignores it
    stacks = _stack(tmp_path, request, {
        "MODELWATCH_BROKER_URL": tls_redis, "MODELWATCH_DATABASE_URL": database_url,
        "MODELWATCH_API_TOKEN": API_TOKEN, "MODELWATCH_READ_TOKEN": READ_TOKEN, "MODELWATCH_LOG_LEVEL": "DEBUG"})
    stack = next(stacks)
    read = {"Authorization": f"Bearer {READ_TOKEN}"}
    try:
        with WebhookReceiver() as hook:
            stack.cli("apply", "-f", str(write_model(tmp_path, hook.url, secret=WEBHOOK_SECRET)))
            predictions, labels = write_window(tmp_path, version="1", recall=0.5, n=300)
            stack.worker()
            with serve(stack) as base:
                assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}  # broker over TLS
                write = {"Authorization": f"Bearer {API_TOKEN}"}
                for kind, path in (("predictions", predictions), ("labels", labels)):
                    rows = json.loads(pd.read_csv(path).to_json(orient="records"))
                    sent = httpx.post(f"{base}/v1/models/{MODEL}/{kind}", headers=write, json={"rows": rows},
                                      timeout=30)
                    assert sent.json()["accepted"] == 300
                created = httpx.post(f"{base}/v1/models/{MODEL}/checks",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=60)  # first call imports the chain
                run_id = created.json()["run_id"]
                summary = wait_for(lambda: finished_run(base, run_id, read), 60, "the check over TLS")
                wait_for(lambda: hook.received, 30, "the signed webhook")
                shown = [httpx.get(f"{base}{path}", headers=read).text for path in (
                    f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/report", f"/v1/models/{MODEL}", "/v1/models",
                    f"/v1/models/{MODEL}/findings", "/v1/audit", "/metrics", "/readyz")]
        assert summary["status"] == "succeeded" and summary["alerts"]
        assert hook.headers[0]  # delivered (signed with the secret, which the receiver never echoes)
        assert "<svg" in shown[1]  # the report HTML
        logs = "\n".join(p.read_text(errors="replace") for p in sorted(stack.logs.glob("*.log")))
        texts = {"worker and API logs": logs, "API answers, the report's HTML and JSON": "\n".join(shown),
                 "webhook payloads": json.dumps(hook.received)}
        assert "celery@" in texts["worker and API logs"] or "ready." in texts["worker and API logs"]
        for where, text in texts.items():
            for secret in SECRETS:
                assert secret not in text, f"{secret!r} shown in {where}"
    finally:
        next(stacks, None)


# --- escaping --------------------------------------------------------------------------------

EVIL_COLUMN = "<script>alert('col')</script>"
EVIL_VALUE = "<img src=x onerror=alert('val')>"


def test_a_real_report_escapes_hostile_feature_names_and_values(embedded_stack, tmp_path):
    stack = embedded_stack
    rng = np.random.default_rng(3)

    def frame(n: int, values: list[str]) -> pd.DataFrame:
        label = (rng.random(n) < 0.3).astype(int)
        return pd.DataFrame({"request_id": [f"r{i}" for i in range(n)], "amount": rng.gamma(2, 50, n),
                             EVIL_COLUMN: rng.choice(values, n), "label": label, "prediction": label,
                             "score": np.where(label == 1, 0.8, 0.2)})

    frame(1000, ["web", "app"]).drop(columns=["request_id"]).to_csv(tmp_path / "reference.csv", index=False)
    spec = {"models": [{"name": "shop", "task": "binary_classification", "every": "1d", "window": "1h",
                        "columns": {"numeric": ["amount"], "categorical": [EVIL_COLUMN], "segments": [EVIL_COLUMN]},
                        "reference": "reference.csv", "alerts": [{"log": {}}]}]}
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(spec))
    stack.cli("apply", "-f", str(tmp_path / "models.yaml"))
    window = frame(400, [EVIL_VALUE, "web"])
    window["ts"] = pd.Timestamp.now(tz="UTC") - pd.to_timedelta(rng.uniform(5, 1800, 400), unit="s")
    window.to_csv(tmp_path / "window.csv", index=False)
    stack.cli("ingest", "predictions", str(tmp_path / "window.csv"), "--model", "shop")
    stack.cli("ingest", "labels", str(tmp_path / "window.csv"), "--model", "shop")
    stack.worker()
    stack.cli("check", "shop", "--wait", "--json", "--fail-on", "never")
    stack.cli("report", "shop", "-o", str(tmp_path / "shop.html"))
    html = (tmp_path / "shop.html").read_text()
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#x27;col&#x27;)&lt;/script&gt;" in html      # the feature name, as text
    assert "&lt;img src=x onerror=alert(&#x27;val&#x27;)&gt;" in html           # the category, as text
