"""The model as a running service, with real processes: health probes on their own queue feed
availability and its alert, workers sample their own host, and `modelwatch agent` writes samples
directly or through `modelwatch serve`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.schema import Alert, HostMetric, Notification, ProbeResult, QuarantinedRow, utcnow
from monitor.reports import report_page
from frontdoors.demo.health import HealthEndpoint
from monitor.spec import parse_spec
from monitor.store import models as store, operations, runs
from tests.conftest import ROOT, free_port, session, wait_for
from tests.support.stages import run_chain

pytestmark = pytest.mark.integration

MODEL = "svc"


def _write_spec(folder, **fields) -> str:
    spec = {"models": [{"name": MODEL, "task": "binary_classification", "every": "1h", "window": "4s",
                        "rules": {"anomaly": None}, **fields}]}
    path = folder / "svc.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def _probes(url: str, *, ok: bool, since: dt.datetime) -> int:
    with session(url) as s:
        return s.scalar(select(func.count()).select_from(ProbeResult)
                        .where(ProbeResult.ok.is_(ok), ProbeResult.ts >= since))


def _finding(summary: dict, rule: str) -> dict:
    return next(f for f in summary["findings"] if f["rule"] == rule)


def test_a_failing_health_url_lowers_availability_and_fires_min_availability(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    stack.env["MODELWATCH_PROBE_INTERVAL"] = "0.5"
    with HealthEndpoint() as health:
        stack.cli("apply", "-f", _write_spec(
            tmp_path, window="8s", rules={"anomaly": None, "min_availability_pct": 90},
            service={"health_url": health.url, "probe_every": "1s", "probe_timeout": "0.5s"}))
        started = utcnow()
        _start_worker_and_beat(stack)
        wait_for(lambda: _probes(url, ok=True, since=started) >= 3, 45, "three successful probes")
        health.status = 503
        broke = utcnow()
        wait_for(lambda: _probes(url, ok=False, since=broke) >= 4, 45, "four failed probes")
        summary = json.loads(stack.cli("check", MODEL, "--wait", "--json", "--timeout", "60", "--fail-on", "never").stdout)
    assert summary["status"] == "succeeded", summary["error"]
    start, end = (dt.datetime.fromisoformat(summary["window"][k]) for k in ("start", "end"))
    with session(url) as s:
        seen = s.scalars(select(ProbeResult.ok).where(ProbeResult.ts >= start, ProbeResult.ts < end)).all()
    assert False in seen and summary["kpis"]["availability"]["value"] == pytest.approx(sum(seen) / len(seen))
    assert summary["kpis"]["availability"]["value"] < 0.9
    finding = _finding(summary, "min_availability")
    assert finding["status"] == "firing" and finding["kind"] == "service_slo"
    assert [(a["rule"], a["state"]) for a in summary["alerts"]] == [("min_availability", "firing")]
    with session(url) as s:
        alert = s.scalar(select(Alert).where(Alert.rule == "min_availability"))
        assert alert.state == "firing"
        assert s.scalar(select(Notification.transition).where(Notification.alert_id == alert.id)) == "firing"
        down = s.scalars(select(ProbeResult).where(ProbeResult.ok.is_(False))).all()
        assert (503, "HTTP 503") in {(p.status_code, p.error) for p in down} and all(p.error for p in down)
        slots = s.execute(select(ProbeResult.model_id, ProbeResult.slot)).all()
        assert len(slots) == len(set(slots))  # one result per slot however often beat asked


def _start_worker_and_beat(stack) -> None:
    """Both at once (each takes seconds to boot on a busy machine), then wait for both."""
    from pathlib import Path

    from frontdoors import runner

    worker = runner.start_worker(stack.env, log=stack.logs / "worker-w1.log", hostname="w1@%h")
    beat = runner.start_beat(stack.env, log=stack.logs / "beat.log",
                             schedule=Path(stack.env["MODELWATCH_DATA_DIR"]) / "beat-schedule")
    stack.services += [worker, beat]
    runner.wait_ready(worker, "ready.", timeout=60)
    runner.wait_ready(beat, "beat: Starting", timeout=60)


def test_a_running_worker_samples_its_own_host_into_the_database(embedded_stack):
    stack, url = embedded_stack, embedded_stack.database_url
    worker = stack.worker(extra_env={"MODELWATCH_HOST_METRICS_INTERVAL": "0.5"})

    def samples():
        with session(url) as s:
            found = operations.recent_host_samples(s, source_prefix="worker:w1@")
            return found if len(found) >= 2 else None

    found = wait_for(samples, 30, "two host samples from the worker")
    assert all(m.model_id is None and m.pid == worker.process.pid for m in found)
    assert all(0 <= m.cpu_pct <= 100 and 0 < m.memory_pct <= 100 and m.disk_pct is not None for m in found)
    assert all(m.rss_bytes > 10 * 2**20 for m in found)  # the worker and its pool, not an empty tree


def test_agent_writes_a_sample_directly_and_pushes_one_through_the_api_with_a_write_token(embedded_stack, tmp_path):
    stack, url = embedded_stack, embedded_stack.database_url
    stack.env.update(MODELWATCH_API_TOKEN="t0ken", MODELWATCH_READ_TOKEN="r3ad")
    stack.cli("apply", "-f", _write_spec(tmp_path))
    direct = stack.cli("agent", "--model", MODEL, "--once", "--pid", str(os.getpid()))
    assert direct.stdout.strip().endswith(": written"), direct.stdout
    unknown = stack.cli("agent", "--model", "nosuch", "--once", check=False)
    assert unknown.returncode == 2 and "no model named 'nosuch'" in unknown.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "serve", "--port", str(port)], env=stack.env,
                           stdout=open(stack.logs / "api.log", "wb"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _answers(f"{base}/healthz"), 30, "the API to answer")
        reader = stack.cli("agent", "--model", MODEL, "--once", "--api", base, "--token", "r3ad", check=False)
        assert reader.returncode == 2 and "403" in reader.stderr and "read-only" in reader.stderr
        wrong = stack.cli("agent", "--model", MODEL, "--once", "--api", base, "--token", "nope", check=False)
        assert wrong.returncode == 2 and "401" in wrong.stderr
        pushed = stack.cli("agent", "--model", MODEL, "--once", "--api", base, "--token", "t0ken")
        assert "pushed: 1 accepted, 0 duplicate, 0 quarantined" in pushed.stdout

        good = {"ts": "2026-01-01T00:00:00Z", "host": "serving-1", "cpu_pct": 12.5, "memory_pct": 40}
        body = {"model": MODEL, "samples": [good, {**good, "cpu_pct": 400}]}
        write = {"Authorization": "Bearer t0ken"}
        first = httpx.post(f"{base}/v1/host-metrics", json=body, headers=write).json()
        assert (first["accepted"], first["duplicates"], first["quarantined"]) == (1, 0, 1)
        assert first["errors"] == ["sample 2: cpu_pct: Input should be less than or equal to 100"]
        again = httpx.post(f"{base}/v1/host-metrics", json={"model": MODEL, "samples": [good]}, headers=write).json()
        assert (again["accepted"], again["duplicates"]) == (0, 1)
        assert httpx.post(f"{base}/v1/host-metrics", json={"model": "nosuch", "samples": [good]},
                          headers=write).status_code == 404
    finally:
        api.terminate()
        api.wait(10)
    with session(url) as s:
        model_id = store.get_model(s, MODEL).id
        agent = s.scalars(select(HostMetric).where(HostMetric.source == "agent")).all()
        assert len(agent) == 3 and {m.model_id for m in agent} == {model_id}
        assert "serving-1" in {m.host for m in agent}
        assert [m.rss_bytes is not None for m in agent].count(True) == 1  # only the --pid sample
        rejected = s.scalar(select(QuarantinedRow).where(QuarantinedRow.kind == "host_metrics"))
        assert rejected.source == "api:token:admin" and "cpu_pct" in rejected.reason


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_agent_samples_and_probes_feed_the_resource_and_availability_rules_of_a_check(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    spec = parse_spec({"models": [{
        "name": MODEL, "task": "binary_classification", "window": "1h",
        "rules": {"anomaly": None, "max_cpu_pct": 80, "max_memory_pct": 90, "min_availability_pct": 99},
        "service": {"health_url": "http://serving.internal/healthz", "probe_every": "30s"},
    }]})[0]
    now = utcnow()
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        samples = [{"ts": now - dt.timedelta(seconds=15 * i + 2), "host": "serving-1", "source": "agent",
                    "model_id": model.id, "pid": None, "cpu_pct": 95.0 if i % 2 else 30.0,
                    "memory_pct": 50.0, "disk_pct": 70.0, "rss_bytes": 2**30}
                   for i in range(40)]
        samples.append({**samples[0], "source": "worker:w1@serving-1", "model_id": None, "memory_pct": 99.0})
        operations.save_host_samples(s, samples)
        for i in range(20):
            operations.save_probe(s, model.id, i, {"ts": now - dt.timedelta(seconds=30 * i + 2), "ok": i % 10 != 0,
                                                   "status_code": 200 if i % 10 else 500, "latency_ms": 5.0 + i})
    run_id = run_chain(settings, MODEL)
    with session_scope(db_url) as s:
        findings = {f.rule: f.status for f in runs.findings_of(s, run_id)}
        kpis = {k.name: k.value for k in runs.kpis_of(s, run_id)}
        stored = runs.report_of(s, run_id)
        assert stored.html == ""  # the check stores the summary; the page is rendered when read
        html = report_page(stored)
    assert kpis["host_cpu_pct_p95"] == 95.0 and kpis["host_memory_pct_p95"] == 50.0  # worker samples not counted
    assert kpis["availability"] == pytest.approx(18 / 20) and kpis["host_rss_mb_max"] == 1024.0
    assert (findings["max_cpu"], findings["max_memory"], findings["min_availability"]) == ("firing", "ok", "firing")
    assert 'id="service"' in html and "Serving host CPU p95" in html
