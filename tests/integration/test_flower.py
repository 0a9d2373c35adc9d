"""Flower, for real: a worker and `modelwatch flower` on one Redis; its HTTP API (behind basic
auth from FLOWER_BASIC_AUTH) lists the worker and the finished check tasks with readable args."""

from __future__ import annotations

import subprocess

import httpx
import pytest
import yaml

from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import ROOT, _stack, free_port, wait_for
from tests.support.scenario import MODEL, write_model

pytestmark = pytest.mark.integration

AUTH = ("ops", "fl0wer-pw")


@pytest.fixture
def redis_sqlite_stack(tmp_path, request, redis_url):
    """modelwatch on Redis with SQLite state (Flower needs Redis' event fan-out, not PostgreSQL)."""
    yield from _stack(tmp_path, request, {"MODELWATCH_BROKER_URL": redis_url})


def test_flower_lists_the_worker_and_a_finished_check(redis_sqlite_stack, tmp_path):
    stack = redis_sqlite_stack
    port = free_port()
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_model(tmp_path, hook.url)))  # an empty window checks fine
        flower = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "flower", "--port", str(port)],
                                  env={**stack.env, "FLOWER_BASIC_AUTH": f"{AUTH[0]}:{AUTH[1]}"},
                                  stdout=open(stack.logs / "flower.log", "wb"), stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            # 90 s like the API's readiness deadline (tests/support/api_server.py): at load 10-14 Flower
            # took longer than 30 s to answer in two whole-suite runs of 2026-12-03
            wait_for(lambda: _answers(f"{base}/healthcheck"), 90, "Flower to answer")
            assert httpx.get(f"{base}/api/workers").status_code == 401  # basic auth is on
            stack.worker("w1")
            workers = wait_for(lambda: _workers(base), 30, "Flower to list the worker")
            assert any(name.startswith("w1@") for name in workers)
            checked = stack.cli("check", MODEL, "--wait", "--json", "--fail-on", "never")
            assert '"status": "succeeded"' in checked.stdout
            tasks = wait_for(lambda: _finished_chain(base), 30, "Flower to see the chain finish")
        finally:
            flower.terminate()
            flower.wait(10)
    names = {t["name"] for t in tasks.values()}
    assert "tasks.check.run_stages" in names  # one task runs the six stages of a run
    ran = next(t for t in tasks.values() if t["name"] == "tasks.check.run_stages")
    assert all(f"'{stage}':" in ran["result"] for stage in ("collect", "evaluate", "detect", "alert",
                                                            "schedule_recovery", "report")), ran["result"]
    for task in tasks.values():
        if task["name"].startswith("tasks.check.") and task["name"] != "tasks.check.run_check":
            assert "run_id" in task["args"] and MODEL in task["args"], task  # ids, not blobs
            assert len(task["args"]) < 400, task["args"]
            assert task["state"] == "SUCCESS"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _workers(base: str) -> dict | None:
    answer = httpx.get(f"{base}/api/workers", params={"refresh": "1"}, auth=AUTH, timeout=10)
    return answer.json() if answer.status_code == 200 and answer.json() else None


def _finished_chain(base: str) -> dict | None:
    tasks = httpx.get(f"{base}/api/tasks", auth=AUTH, timeout=10).json()
    done = any(t["name"] == "tasks.check.run_stages" and t["state"] == "SUCCESS" for t in tasks.values())
    return tasks if done else None


def test_compose_gives_flower_basic_auth_through_the_environment():
    flower = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["flower"]
    environment = flower["environment"]
    assert "FLOWER_BASIC_AUTH" in environment and "MODELWATCH_BROKER_URL" in environment
    assert "basic-auth" not in " ".join(flower["command"])  # a password on the command line shows in `ps`
