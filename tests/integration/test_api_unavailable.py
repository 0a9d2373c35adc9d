"""A dependency outage is answered 503 with Retry-After, never 500, and leaves nothing half-done:
a real `modelwatch serve` whose own redis-server is stopped (a forced check cannot be queued, so
its run is not recorded either) and started again (the retry goes through), then whose PostgreSQL
database is dropped under it."""

from __future__ import annotations

import shutil
import subprocess
import time

import httpx
import psycopg
import pytest

from tests.conftest import free_port, unavailable, wait_for
from tests.support.api_server import serve
from tests.support.scenario import MODEL, write_model

pytestmark = pytest.mark.integration

TOKEN = {"Authorization": "Bearer outage-t0ken"}


def _redis(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (make services installs it)")
    return subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _answers_redis(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _assert_503(response: httpx.Response, dependency: str) -> None:
    assert response.status_code == 503, f"{response.request.method} {response.request.url} -> " \
                                        f"{response.status_code}: {response.text[:300]}"
    assert int(response.headers["Retry-After"]) > 0
    assert dependency in response.text, response.text


def test_broker_or_database_down_is_a_503_with_retry_after_and_nothing_half_created(
        embedded_stack, postgres_url, pg_admin_url, tmp_path):
    port = free_port()
    broker = _redis(port)
    stack = embedded_stack
    stack.env.update({"MODELWATCH_BROKER_URL": f"redis://127.0.0.1:{port}/0", "MODELWATCH_DATABASE_URL": postgres_url,
                      "MODELWATCH_API_TOKEN": "outage-t0ken"})
    try:
        wait_for(lambda: _answers_redis(port), 15, "our redis-server to answer")
        stack.cli("apply", "-f", str(write_model(tmp_path, "http://127.0.0.1:9/unused")))
        with serve(stack) as base, httpx.Client(base_url=base, headers=TOKEN, timeout=60) as api:
            # The broker is down: the forced check is refused, and no run of it is left behind.
            broker.terminate()
            broker.wait(10)
            started = time.monotonic()
            for _ in range(3):
                _assert_503(api.post(f"/v1/models/{MODEL}/checks"), "broker")
            took = (time.monotonic() - started) / 3
            assert api.get(f"/v1/models/{MODEL}/runs").json() == []
            _assert_503(api.get("/readyz"), "broker")
            assert api.get("/metrics").status_code == 200  # reads need no broker: they still answer
            assert api.get(f"/v1/models/{MODEL}").status_code == 200
            # The broker is back: the client's retry goes through.
            broker = _redis(port)
            wait_for(lambda: _answers_redis(port), 15, "the restarted redis-server to answer")
            forced = wait_for(lambda: (r := api.post(f"/v1/models/{MODEL}/checks")).status_code == 202 and r, 30,
                              "a forced check to be accepted once Redis is back")
            assert forced.json()["created"] is True
            assert [r["run_id"] for r in api.get(f"/v1/models/{MODEL}/runs").json()] == [forced.json()["run_id"]]

            # The database goes away under the running API: every read and write says so.
            with psycopg.connect(pg_admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{postgres_url.rsplit("/", 1)[1]}" WITH (FORCE)')
            answers = [api.get("/v1/models"), api.get(f"/v1/models/{MODEL}"), api.get("/v1/alerts"),
                       api.post("/v1/silences", json={"model": MODEL, "comment": "db down", "duration": "1h"}),
                       api.post(f"/v1/models/{MODEL}/checks"), api.get("/metrics"),
                       api.post(f"/v1/models/{MODEL}/predictions", json={"rows": []})]
            for response in answers:
                _assert_503(response, "database")
            _assert_503(api.get("/readyz"), "database")
            assert api.get("/healthz").status_code == 200  # the process itself is alive
    finally:
        broker.terminate()
        broker.wait(10)
    print(f"\nbroker down: a forced check answered 503 in {took:.2f} s on average; database dropped: "
          f"{len(answers)} of {len(answers)} requests answered 503 with Retry-After")
