"""The live event stream (and the dashboard reads) over real HTTP, with a real worker, on the embedded
default and on Redis.

A client follows ``GET /v1/events``, a forced check fires an alert and finishes while the client is
away (on the embedded default the API also restarts meanwhile); the client reconnects with
``Last-Event-ID`` and gets exactly the events it missed, then sees an acknowledgement arrive live.
On Redis the notices the worker and the API publish are read back from the channel too.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time

import httpx
import pytest

from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import wait_for
from tests.integration.api_server import finished_run, serve
from tests.integration.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration

WRITE = {"Authorization": "Bearer w-t0ken"}
READ = {"Authorization": "Bearer r-t0ken"}


class Follower:
    """Reads an SSE stream on a thread; parsed events land in ``received`` with their arrival time."""

    def __init__(self, url: str, headers: dict[str, str]):
        self.received: queue.Queue[tuple[float, dict]] = queue.Queue()
        self._stop = threading.Event()
        self.status: int | None = None
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        except httpx.HTTPError:  # the API stopped under it: what reconnecting is for
            if not self._stop.is_set():
                raise

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=30)) as answer:
            self.status = answer.status_code
            fields: dict[str, str] = {}
            for line in answer.iter_lines():
                if self._stop.is_set():
                    return
                if line == "":
                    if "data" in fields:
                        event = json.loads(fields["data"])
                        assert fields["id"] == str(event["id"]) and fields["event"] == event["type"]
                        self.received.put((time.monotonic(), event))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value

    def until(self, match, timeout: float = 60) -> list[dict]:
        """Events received until (and including) the first for which ``match(event)`` holds."""
        seen, deadline = [], time.monotonic() + timeout
        while True:
            try:
                _, event = self.received.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no matching event within {timeout}s; got {seen}") from None
            seen.append(event)
            if match(event):
                return seen

    def close(self) -> None:
        self._stop.set()


def _cli(stack, *args: str) -> None:
    """A ``modelwatch`` command in this process (a new interpreter per command costs seconds)."""
    from click.testing import CliRunner

    from frontdoors.cli.main import main
    from monitor.config import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(main, list(args), env=stack.env, catch_exceptions=False)
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output


def _follow_a_check(stack, tmp_path, *, restart: bool) -> tuple[float, list[int]]:
    """The scenario on ``stack``; returns the seconds from an acknowledgement to its event, and
    the ids of every event recorded. With ``restart`` the client comes back to a new API process."""
    stack.env.update({"MODELWATCH_API_TOKEN": "w-t0ken", "MODELWATCH_READ_TOKEN": "r-t0ken"})
    started = time.monotonic()
    phase = lambda what: print(f"  {time.monotonic() - started:6.1f}s {what}", flush=True)  # noqa: E731
    with WebhookReceiver() as hook:
        _cli(stack, "apply", "-f", str(write_model(tmp_path, hook.url)))
        predictions, labels = write_window(tmp_path, version="1", recall=0.5, n=300)
        _cli(stack, "ingest", "predictions", str(predictions), "--model", MODEL)
        _cli(stack, "ingest", "labels", str(labels), "--model", MODEL)
        phase("applied and ingested")
        stack.worker()
        phase("worker ready")
        with contextlib.ExitStack() as api:
            base = api.enter_context(serve(stack))
            phase("API up")
            live = Follower(f"{base}/v1/events?after=0&model={MODEL}", READ)
            wait_for(lambda: live.status is not None, 10, "the stream to open")
            assert live.status == 200
            run_id = httpx.post(f"{base}/v1/models/{MODEL}/checks", headers=WRITE).json()["run_id"]
            before = live.until(lambda e: e["type"] == "alert.fired")
            phase("alert.fired arrived")
            live.close()
            fired = before[-1]
            assert (fired["model"], fired["rule"], fired["severity"]) == (MODEL, "recall_drop", "critical")
            assert all(e["type"] != "run.finished" for e in before)
            if restart:  # a new API process: the stream's only state was the client's cursor
                api.close()
                base = api.enter_context(serve(stack))
                phase("API restarted")
            wait_for(lambda: finished_run(base, run_id, READ), 60, "the check to finish")
            back = Follower(f"{base}/v1/events", {**READ, "Last-Event-ID": str(fired["id"])})
            missed = back.until(lambda e: e["type"] == "run.finished")
            phase("resumed")
            assert missed[-1]["run_id"] == run_id and missed[-1]["status"] == "succeeded"
            asked = time.monotonic()
            acked = httpx.post(f"{base}/v1/alerts/{fired['alert_id']}/ack", headers=WRITE, json={"reason": "mine"})
            assert acked.status_code == 200, acked.text
            tail = back.until(lambda e: e["type"] == "alert.acknowledged")
            latency = time.monotonic() - asked
            back.close()
            recorded = httpx.get(f"{base}/v1/events/recent?limit=500", headers=READ).json()["events"]
            _dashboard_reads_tell_the_same_story(base, run_id)
    expected = [e["id"] for e in recorded if e["id"] > fired["id"]]
    assert [e["id"] for e in missed + tail] == expected, "a resumed stream gets every later event, once, in order"
    assert tail[-1]["alert_id"] == fired["alert_id"] and tail[-1]["actor"] == "token:admin"
    return latency, [e["id"] for e in recorded]


def _dashboard_reads_tell_the_same_story(base: str, run_id: str) -> None:
    """The reads the dashboard draws from, on a real run: a critical recall drop, acknowledged."""
    def get(path: str):
        answer = httpx.get(f"{base}{path}", headers=READ, timeout=10)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    (model,) = get("/v1/fleet")["models"]
    assert (model["name"], model["health"], model["last_run_id"]) == (MODEL, "critical", run_id)
    assert model["open_alerts"]["critical"] == 1 and model["kpis"]["recall"] < 0.7
    groups = {g["key"]: g for g in get("/v1/fleet/alerts")}
    assert list(groups)[0] == f"{MODEL}/performance_drop"  # the critical group leads
    assert (groups[f"{MODEL}/performance_drop"]["severity"], groups[f"{MODEL}/performance_drop"]["acknowledged"]) == (
        "critical", 1)
    (recall,) = get(f"/v1/models/{MODEL}/timeseries?last=1d&kpi=recall")["kpis"]
    assert recall["unit"] == "ratio" and recall["threshold"] > recall["points"][-1]["value"]
    assert "recall_drop" in [m["rule"] for m in recall["marks"]]
    assert {c["column"] for c in get(f"/v1/models/{MODEL}/drift?last=1d")} >= {"amount", "channel"}
    assert {"amount", "channel"} <= set(get(f"/v1/runs/{run_id}/distributions")["distributions"])
    assert [a["kind"] for a in get(f"/v1/models/{MODEL}/annotations?last=1d")] == ["deploy", "promote"]


def test_stream_on_the_embedded_default_resumes_after_an_api_restart(embedded_stack, tmp_path):
    latency, _ = _follow_a_check(embedded_stack, tmp_path, restart=True)
    print(f"embedded: acknowledgement -> event on the stream in {latency:.2f}s")
    assert latency < 5


def test_stream_on_redis_wakes_on_pub_sub_and_resumes_with_last_event_id(redis_stack, tmp_path):
    import redis

    notices = redis.Redis.from_url(redis_stack.env["MODELWATCH_BROKER_URL"]).pubsub(ignore_subscribe_messages=True)
    notices.subscribe("modelwatch:events")
    latency, recorded = _follow_a_check(redis_stack, tmp_path, restart=False)
    print(f"redis: acknowledgement -> event on the stream in {latency:.2f}s")
    announced, deadline = [], time.monotonic() + 5
    while len(announced) < len(recorded) and time.monotonic() < deadline:
        message = notices.get_message(timeout=0.5)  # None for the subscription's own confirmation too
        if message is not None:
            announced += json.loads(message["data"])["ids"]
    notices.close()
    assert sorted(announced) == recorded  # the worker's events and the API's acknowledgement
    assert latency < 5
