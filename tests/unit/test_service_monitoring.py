"""Availability probes, host samples, their window KPIs, the rules on them, and how they are shown."""

from __future__ import annotations

import datetime as dt
import os
import threading

import numpy as np
import pandas as pd
import pytest

from frontdoors.demo.health import HealthEndpoint
from monitor.detect.rules.service_slo import detect_service_slo
from monitor.errors import SpecError
from monitor.service.host import Collector, HostSample, Sampler, host_kpis, parse_samples
from monitor.service.probes import availability_kpis, probe, slot_of
from monitor.reports import render_html
from monitor.reports.service import brief
from monitor.spec import Rules, parse_spec
from tests.conftest import free_port, wait_for

UTC = dt.timezone.utc


# ---------------------------------------------------------------- probes


def test_probe_counts_2xx_as_up_and_keeps_the_reason_otherwise():
    with HealthEndpoint() as health:
        up = probe(health.url, timeout=5)
        health.status = 503
        down = probe(health.url, timeout=5)
    assert (up.ok, up.status_code, up.error) == (True, 200, None) and up.latency_ms > 0
    assert (down.ok, down.status_code, down.error) == (False, 503, "HTTP 503")


def test_probe_of_a_closed_port_is_down_with_no_latency():
    outcome = probe(f"http://127.0.0.1:{free_port()}/healthz", timeout=2)
    assert not outcome.ok and outcome.status_code is None and outcome.latency_ms is None
    assert "ConnectError" in outcome.error


def test_probe_that_outlasts_its_timeout_is_down():
    import socket

    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        outcome = probe(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.2)
    assert not outcome.ok and outcome.error == "timed out after 0.2s"


def test_slots_are_aligned_on_the_epoch():
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert slot_of(start, 30) == slot_of(start + dt.timedelta(seconds=29.9), 30)
    assert slot_of(start + dt.timedelta(seconds=30), 30) == slot_of(start, 30) + 1


def test_availability_is_the_share_of_up_probes_and_latency_p95_ignores_unanswered_ones():
    rng = np.random.default_rng(3)
    latency = rng.gamma(2, 20, 200)
    ok = rng.random(200) < 0.9
    frame = pd.DataFrame({"ok": ok, "latency_ms": np.where(rng.random(200) < 0.1, np.nan, latency)})
    kpis = availability_kpis(frame)
    answered = frame["latency_ms"].dropna().to_numpy()
    assert kpis["availability"] == pytest.approx(ok.mean())
    assert kpis["probe_latency_p95_ms"] == pytest.approx(np.percentile(answered, 95))
    assert availability_kpis(frame.iloc[:0]) == {"availability": None, "probe_latency_p95_ms": None}


# ---------------------------------------------------------------- host samples


def test_collector_samples_this_host_and_the_process_tree_memory():
    sample = Collector("agent", pid=os.getpid(), first_cpu_window=0.05).sample()
    assert 0 <= sample.cpu_pct <= 100 and 0 < sample.memory_pct <= 100 and 0 <= sample.disk_pct <= 100
    assert sample.rss_bytes > 1_000_000 and sample.pid == os.getpid() and sample.host
    assert Collector("agent").sample().rss_bytes is None


def test_sampler_keeps_going_after_a_failed_write_and_stops_when_told():
    calls: list[HostSample] = []

    def write(sample: HostSample) -> None:
        calls.append(sample)
        if len(calls) == 1:
            raise RuntimeError("database restarting")

    sampler = Sampler(Collector("worker:test", first_cpu_window=0.01), write, interval=0.01)
    sampler.start()
    wait_for(lambda: len(calls) >= 3, 10, "three samples")
    sampler.stop()
    sampler.join(5)
    assert not sampler.is_alive()


def test_host_kpis_are_p95_of_cpu_and_memory_and_max_of_disk_and_rss():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"cpu_pct": rng.uniform(0, 100, 300), "memory_pct": rng.uniform(20, 80, 300),
                          "disk_pct": rng.uniform(40, 60, 300), "rss_bytes": rng.integers(1, 2**30, 300)})
    kpis = host_kpis(frame)
    assert kpis["host_cpu_pct_p95"] == pytest.approx(np.percentile(frame["cpu_pct"], 95))
    assert kpis["host_memory_pct_p95"] == pytest.approx(np.percentile(frame["memory_pct"], 95))
    assert kpis["host_disk_pct_max"] == pytest.approx(frame["disk_pct"].max())
    assert kpis["host_rss_mb_max"] == pytest.approx(frame["rss_bytes"].max() / 2**20)
    assert set(host_kpis(frame.iloc[:0]).values()) == {None}


def test_pushed_samples_are_validated_one_by_one():
    good, bad = parse_samples([
        {"ts": "2026-01-01T00:00:00", "host": "h1", "cpu_pct": 5, "memory_pct": 9, "rss_bytes": 10},
        {"ts": "2026-01-01T01:00:00+01:00", "host": "h1", "cpu_pct": 7, "memory_pct": 9},
        {"ts": "yesterday", "host": "h1", "cpu_pct": 5, "memory_pct": 9},
        {"host": "h1", "cpu_pct": 5, "memory_pct": 9, "gpu": 3},
        "not an object",
    ], "agent")
    assert [s.ts for s in good] == [dt.datetime(2026, 1, 1, tzinfo=UTC)] * 2  # naive is UTC; offsets converted
    assert all(s.source == "agent" for s in good) and good[0].rss_bytes == 10
    assert [r.row_number for r in bad] == [3, 4, 5]
    assert bad[0].reason.startswith("ts: ")
    assert "ts: Field required" in bad[1].reason and "gpu: Extra inputs are not permitted" in bad[1].reason


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(("kpis", "rules", "rule", "expected"), [
    ({"availability": 0.95}, {"min_availability_pct": 99}, "min_availability", "firing"),
    ({"availability": 0.999}, {"min_availability_pct": 99}, "min_availability", "ok"),
    ({"host_cpu_pct_p95": 93.0}, {"max_cpu_pct": 90}, "max_cpu", "firing"),
    ({"host_cpu_pct_p95": 40.0}, {"max_cpu_pct": 90}, "max_cpu", "ok"),
    ({"host_memory_pct_p95": 91.0}, {"max_memory_pct": 85}, "max_memory", "firing"),
    ({"host_memory_pct_p95": 60.0}, {"max_memory_pct": 85}, "max_memory", "ok"),
])
def test_availability_and_resource_rules_fire_only_past_their_threshold(kpis, rules, rule, expected):
    (evaluation,) = detect_service_slo(kpis, Rules(**rules))
    assert (evaluation.rule, evaluation.status, evaluation.kind) == (rule, expected, "service_slo")


def test_an_endpoint_down_most_of_the_window_is_critical():
    (evaluation,) = detect_service_slo({"availability": 0.3}, Rules(min_availability_pct=99))
    assert evaluation.severity == "critical" and "30.00% is below the SLO of 99%" in evaluation.message


def test_missing_probes_or_samples_are_insufficient_data_and_say_why():
    evaluations = detect_service_slo({}, Rules(min_availability_pct=99, max_cpu_pct=90))
    assert [(e.rule, e.status) for e in evaluations] == [("min_availability", "insufficient_data"),
                                                          ("max_cpu", "insufficient_data")]
    assert "probes queue" in evaluations[0].message and "modelwatch agent" in evaluations[1].message
    assert detect_service_slo({"availability": 0.0, "host_cpu_pct_p95": 100.0}, Rules()) == []


# ---------------------------------------------------------------- spec


def _model(**fields) -> dict:
    return {"models": [{"name": "svc", "task": "regression", **fields}]}


def test_service_spec_parses_durations_and_defaults():
    (spec,) = parse_spec(_model(service={"health_url": "https://svc.internal/healthz", "probe_every": "1m"}))
    assert (spec.service.probe_every, spec.service.probe_timeout) == (60.0, 2.0)
    assert parse_spec(_model())[0].service is None


@pytest.mark.parametrize(("service", "expected"), [
    ({"health_url": "svc.internal/healthz"}, "field service.health_url: expected an http:// or https:// URL"),
    ({"health_url": "http://x", "probe_every": "5s", "probe_timeout": "5s"},
     "field service: probe_timeout must be more than 0 and less than probe_every (5s), got 5s"),
    ({"health_url": "http://x", "probe_every": "0.5s", "probe_timeout": "0.1s"},
     "field service: probe_every must be at least 1s"),
    ({"health_url": "http://x", "probe_every": "soon"}, "field service.probe_every: expected a duration"),
    ({"health_url": "http://x", "method": "HEAD"}, "field service.method: unknown field"),
    ({"probe_every": "30s"}, "field service.health_url: required field is missing"),
])
def test_bad_service_spec_names_the_field(service, expected):
    with pytest.raises(SpecError) as caught:
        parse_spec(_model(service=service))
    assert expected in str(caught.value)


def test_resource_rules_are_percentages():
    with pytest.raises(SpecError, match="rules.max_cpu_pct"):
        parse_spec(_model(rules={"max_cpu_pct": 150}))


# ---------------------------------------------------------------- report and status


def _summary() -> dict:
    return {
        "run_id": "r1", "model": "churn", "status": "succeeded",
        "kpis": {"recall": {"value": 0.8, "baseline": 0.82}, "latency_p95_ms": {"value": 612.3, "baseline": None},
                 "error_rate": {"value": 0.004, "baseline": None}, "availability": {"value": 0.5, "baseline": None},
                 "host_cpu_pct_p95": {"value": None, "baseline": None}},
        "findings": [{"rule": "min_availability", "kind": "service_slo", "status": "firing", "metric": "availability",
                      "value": 0.5, "threshold": 99.0, "severity": "warning", "message": "down"},
                     {"rule": "latency_p95", "kind": "service_slo", "status": "ok", "metric": "latency_p95_ms",
                      "value": 612.3, "threshold": 1000.0, "message": "fine"}],
    }


def test_report_shows_service_kpis_in_their_own_section_with_their_slo():
    page = render_html(_summary())
    service = page[page.index('<section id="service">'):]
    service = service[:service.index("</section>")]
    assert "Latency p95" in service and "612.3 ms" in service and "&lt; 1000 ms" in service
    assert "Availability (health probes)" in service and "50.00%" in service and "&gt; 99%" in service
    assert service.count('class="breached"') == 1  # the availability row
    assert "Serving host CPU p95" not in service  # not measured in this window
    kpis = page[page.index('<section id="kpis">'):]
    assert "latency_p95_ms" not in kpis[:kpis.index("</section>")]


def test_report_without_service_kpis_has_no_service_section():
    summary = _summary()
    summary["kpis"] = {"recall": {"value": 0.8, "baseline": 0.82}}
    summary["findings"] = []
    assert 'id="service"' not in render_html(summary)


def test_status_line_spells_the_main_service_kpis():
    assert brief({"latency_p95_ms": 80.4, "error_rate": 0.0, "throughput_rpm": 1200.0, "availability": 0.995,
                  "host_cpu_pct_p95": 41.2, "host_memory_pct_p95": 63.0}) == \
        "p95 80ms, errors 0.0%, 1200 rpm, up 99.5%, cpu 41%, mem 63%"
    assert brief({}) == "-"


# ---------------------------------------------------------------- the agent's push


def test_agent_push_keeps_unsent_samples_and_sends_them_with_the_next_push():
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from frontdoors.cli.agent import ApiPusher
    from monitor.errors import ModelwatchError

    bodies: list[dict] = []

    class Api(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append({**body, "auth": self.headers["Authorization"]})
            answer = json.dumps({"accepted": len(body["samples"]), "duplicates": 0, "quarantined": 0}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_) -> None:
            pass

    collector = Collector("agent", first_cpu_window=0.01)
    pusher = ApiPusher(f"http://127.0.0.1:{free_port()}", "t0ken", "churn")  # nothing listens there
    with pytest.raises(ModelwatchError, match="cannot reach .*1 sample\\(s\\) kept"):
        pusher(collector.sample())
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pusher.url = f"http://127.0.0.1:{server.server_address[1]}/v1/host-metrics"
        assert pusher(collector.sample()) == "pushed: 2 accepted, 0 duplicate, 0 quarantined"
        assert pusher(collector.sample()) == "pushed: 1 accepted, 0 duplicate, 0 quarantined"
    finally:
        server.shutdown()
        server.server_close()
    assert [len(b["samples"]) for b in bodies] == [2, 1] and bodies[0]["auth"] == "Bearer t0ken"
    assert bodies[0]["model"] == "churn" and "source" not in bodies[0]["samples"][0]
