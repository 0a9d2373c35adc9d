"""The demo's story, told by real processes on the embedded default.

1. A churn classifier (version 1) is trained, registered with its reference data, and serves
   traffic; a worker and beat check it every few seconds.
2. Version 2 arrives through the registry hook. It has a serving bug (a threshold far too high):
   recall collapses. The check the hook triggers (or the next scheduled one) catches it, an alert
   fires to a local webhook, a rollback runs, and later checks show the model healthy again.
   The bug also makes v2 slow and error-prone, so the service SLOs (p95 latency, error rate) fire
   beside the performance alert and resolve with the rollback. A health endpoint is probed all along.
3. The world shifts: churn now follows monthly charges. Recall falls on schedule, an alert fires,
   a retrain runs on recent labelled data, the new version serves, and the alert resolves.
"""

from __future__ import annotations

import os
import shlex
import shutil
import threading
import time
from pathlib import Path

import click
import numpy as np
import yaml

from frontdoors.demo import data
from frontdoors.demo.health import HealthEndpoint
from frontdoors.demo.receiver import WebhookReceiver

MARKER = ".modelwatch-demo"
MODEL = "churn"
DASHBOARD_PORT = 8000  # `modelwatch serve`'s default; another free port if it is taken


def say(step: str, text: str = "") -> None:
    click.echo(click.style(f"[{time.strftime('%H:%M:%S')}] {step}", bold=True) + (f" {text}" if text else ""))


def _prepare(data_dir: Path) -> None:
    if data_dir.exists():
        if not (data_dir / MARKER).exists() and any(data_dir.iterdir()):
            raise click.ClickException(f"{data_dir} exists and is not a demo directory; pass --data-dir")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / MARKER).write_text("made by modelwatch demo; deleted by the next demo run\n")
    os.environ["MODELWATCH_DATA_DIR"] = str(data_dir)
    for name in ("MODELWATCH_DATABASE_URL", "MODELWATCH_BROKER_URL", "MODELWATCH_FAILPOINTS"):
        os.environ.pop(name, None)
    os.environ["MODELWATCH_DISPATCH_INTERVAL"] = "1"
    os.environ["MODELWATCH_SWEEP_INTERVAL"] = "5"
    os.environ["MODELWATCH_PROBE_INTERVAL"] = "1"
    # The demo's webhook receiver and health endpoint listen on loopback, which the outbound guard
    # refuses by default (monitor/outbound.py): the demo allows loopback, and only loopback.
    os.environ["MODELWATCH_OUTBOUND_ALLOW"] = "127.0.0.0/8,::1"
    from monitor.config import get_settings

    get_settings.cache_clear()


def _spec(data_dir: Path, reference: Path, webhook: str, health: str) -> Path:
    spec = {"models": [{
        "name": MODEL, "task": "binary_classification", "every": "5s", "window": "15s",
        "registry_check_delay": "3s",
        "columns": {"id": "request_id", "timestamp": "ts", "prediction": "prediction", "score": "score",
                    "label": "label", "numeric": data.NUMERIC, "categorical": data.CATEGORICAL},
        "reference": str(reference),
        "rules": {"recall_drop_pct": 15, "precision_drop_pct": None, "accuracy_drop_pct": None,
                  "f1_drop_pct": None, "roc_auc_drop_pct": 10, "min_labelled_rows": 300,
                  "latency_p95_ms": 250, "error_rate_pct": 2, "min_availability_pct": 50},
        "service": {"health_url": health, "probe_every": "2s", "probe_timeout": "1s"},
        "alerts": [{"log": {}}, {"webhook": webhook}],
        "recovery": {
            "performance_drop": [
                {"action": "rollback", "after": "0s", "max_version_age": "10m"},
                {"action": "retrain", "after": "16s", "cooldown": "2m", "callable": "frontdoors.demo.retrain:retrain"},
            ],
            # Let the shifted world fill the whole training window (15s) before retraining on it.
            "data_drift": {"action": "retrain", "after": "16s", "cooldown": "2m",
                           "callable": "frontdoors.demo.retrain:retrain"},
        },
    }]}
    path = data_dir / "models.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


class Traffic(threading.Thread):
    """The serving process: predicts with whatever version serves, logs predictions and labels."""

    def __init__(self, url: str, seed: int = 1, batch: int = 60, interval: float = 0.25):
        super().__init__(daemon=True)
        from monitor.client import Client

        self.client = Client(MODEL, source="demo traffic")
        self.url, self.rng, self.batch, self.interval = url, np.random.default_rng(seed), batch, interval
        self.service_rng = np.random.default_rng(seed + 1)  # latency and errors; the data stream stays as it was
        self.shift, self.sent, self.stopped = 0.0, 0, threading.Event()
        self.error: BaseException | None = None
        self._models: dict[str, object] = {}

    def _serving_model(self):
        from monitor.db.engine import session_scope
        from monitor.store import models as store

        with session_scope(self.url) as session:
            serving = store.serving_version(session, self.client.model_id)
            if serving.version not in self._models:
                self._models[serving.version] = data.loads(serving.artifact)
            return serving.version, self._models[serving.version]

    def run(self) -> None:
        import datetime as dt

        try:
            while not self.stopped.wait(self.interval):
                version, model = self._serving_model()
                frame = data.customers(self.batch, self.rng, self.shift)
                scores = model.predict_proba(frame[data.FEATURES])[:, 1]
                now = dt.datetime.now(dt.timezone.utc)
                ids = [f"r{self.sent + i}" for i in range(len(frame))]
                records = frame[data.FEATURES].to_dict("records")
                latency = self.service_rng.gamma(4.0, getattr(model, "latency_ms", data.LATENCY_MS) / 4.0, len(frame))
                failed = self.service_rng.random(len(frame)) < getattr(model, "error_share", 0.0)
                predictions = [{**r, "request_id": i, "ts": now, "version": version,
                                "prediction": int(s >= 0.5), "score": float(s), "latency_ms": round(float(ms), 1),
                                "status": "error" if bad else "ok"}
                               for r, i, s, ms, bad in zip(records, ids, scores, latency, failed)]
                self.client.log_predictions(predictions)
                self.client.log_labels([{"request_id": i, "label": int(y), "ts": now}
                                        for i, y in zip(ids, frame["label"])])
                self.sent += len(frame)
        except BaseException as exc:  # surfaced by the story's waits
            self.error = exc


def _wait(what: str, condition, timeout: float, services, traffic: Traffic):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if traffic.error:
            raise click.ClickException(f"demo traffic failed: {traffic.error!r}")
        for service in services.items:
            if not service.alive():
                raise click.ClickException(f"{service.name} died:\n{service.tail()}")
        result = condition()
        if result:
            return result
        time.sleep(0.3)
    tails = "\n".join(f"--- {s.name}\n{s.tail(40)}" for s in services.items)
    raise click.ClickException(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


class Watcher:
    """Reads what the service did, for the story's narration and its waits."""

    def __init__(self, url: str):
        self.url = url
        from monitor.db.engine import session_scope
        from monitor.store import models as store

        with session_scope(url) as session:
            self.model_id = store.get_model(session, MODEL).id

    def _session(self):
        from monitor.db.engine import session_scope

        return session_scope(self.url)

    def healthy_run(self, after: float, version: str | None = None):
        """A finished scheduled run, newer than ``after``, that evaluated rules and found nothing."""
        from monitor.store import overview, runs as store_runs

        with self._session() as session:
            runs = overview.newest_runs(session, self.model_id, status="succeeded", trigger="schedule", limit=5)
            for run in runs:
                if run.created_at.timestamp() < after or (version and run.version != version):
                    continue
                statuses = {finding.status for finding in store_runs.findings_of(session, run.id)}
                if statuses and statuses <= {"ok"}:
                    return run
        return None

    def open_alerts(self):
        from monitor.alerts.lifecycle import list_alerts

        with self._session() as session:
            return list_alerts(session, self.model_id, open_only=True)

    def alerts_since(self, started: float):
        from monitor.alerts.lifecycle import list_alerts

        with self._session() as session:
            return [a for a in list_alerts(session, self.model_id) if a.first_seen.timestamp() >= started]

    def alert(self, alert_id: int):
        from monitor.db.schema import Alert

        with self._session() as session:
            return session.get(Alert, alert_id)

    def run(self, run_id: str):
        from monitor.store import runs

        with self._session() as session:
            return runs.get_run(session, run_id)

    def actions(self):
        from monitor.recovery.schedule import list_actions

        with self._session() as session:
            return list_actions(session, self.model_id)

    def serving(self) -> str:
        from monitor.store import models as store

        with self._session() as session:
            return store.serving_version(session, self.model_id).version

    def kpis(self, run_id: str) -> str:
        from monitor.store import runs

        with self._session() as session:
            values = {k.name: k.value for k in runs.kpis_of(session, run_id)}
        from monitor.reports.service import brief

        model = ", ".join(f"{k} {values[k]:.3f}" for k in ("recall", "precision", "roc_auc")
                          if values.get(k) is not None)
        return f"{model}; service: {brief(values)}"


def _episode(watch: Watcher, services, traffic, started: float, expect_action: str, timeout: float):
    """Wait for the recovery action an alert caused, narrate its cause, then wait for all clear."""
    action = _wait(f"a {expect_action} action to finish", lambda: next(
        (a for a in watch.actions() if a.kind == expect_action and a.created_at.timestamp() >= started
         and a.state in ("succeeded", "failed")), None), timeout, services, traffic)
    cause = watch.alert(action.alert_id)
    caught_by = watch.run(cause.first_run_id)
    fired = watch.alerts_since(started)
    say("  ALERT", f"#{cause.id} {cause.rule} ({cause.severity}), caught by the {caught_by.trigger} check "
                   f"of version {caught_by.version}: {cause.message}")
    others = sorted({a.rule for a in fired if a.id != cause.id})
    if others:
        say("   ", f"{len(fired) - 1} more alert(s) in the same episode: {', '.join(others)}")
    for service_alert in (a for a in fired if a.kind == "service_slo"):
        say("  SERVICE ALERT", f"#{service_alert.id} {service_alert.rule} ({service_alert.severity}): "
                               f"{service_alert.message}")
    say("  RECOVERY", f"#{action.id} {action.kind} {action.state} after {action.executions} execution(s): "
                      f"{(action.result or {}).get('summary') or action.error}")
    _wait("the alerts to resolve", lambda: all(watch.alert(a.id).state == "resolved" for a in watch.alerts_since(started)),
          timeout, services, traffic)
    say("  RESOLVED", f"all {len(watch.alerts_since(started))} alert(s); version {watch.serving()} serving")
    return cause.first_run_id


def _write_reports(url: str, run_ids: dict[str, str], out: Path) -> list[Path]:
    from monitor.db.engine import session_scope
    from monitor.reports import report_page
    from monitor.store import runs

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with session_scope(url) as session:
        for label, run_id in run_ids.items():
            report = runs.report_of(session, run_id)
            if report is None:
                continue
            path = out / f"{MODEL}-{label}-{run_id[:8]}.html"
            path.write_text(report_page(report))
            paths.append(path)
    return paths


def run_demo(data_dir: str | None, *, keep_running: bool = False) -> None:
    from frontdoors import runner
    from monitor.config import get_settings
    from monitor.db.migrate import upgrade

    began = time.monotonic()
    base = Path(data_dir) if data_dir else get_settings().data_dir / "demo"
    base = base.resolve()
    _prepare(base)
    settings = get_settings()
    url = settings.effective_database_url
    rng = np.random.default_rng(7)
    received: list[dict] = []
    with WebhookReceiver(on_message=received.append) as hook, HealthEndpoint() as health:
        say("1/4 training", "a churn classifier (version 1) on 6,000 generated customers")
        v1 = data.train(data.customers(6000, rng))
        reference_path = base / "churn_reference.parquet"
        data.with_predictions(v1, data.customers(3000, rng)).to_parquet(reference_path)
        spec_path = _spec(base, reference_path, hook.url, health.url)
        upgrade(url)
        logs = base / "logs"
        logs.mkdir()
        env = dict(os.environ)
        port = runner.port_for(DASHBOARD_PORT)
        dashboard = f"http://127.0.0.1:{port}/"
        services = runner.Services([runner.start_worker(env, log=logs / "worker.log"),
                                    runner.start_beat(env, log=logs / "beat.log"),
                                    runner.start_api(env, port=port, log=logs / "api.log")])
        say("   dashboard", f"{dashboard} (live: open it now and watch the story unfold)")
        traffic = None
        try:
            _register(spec_path, v1)
            say("   registered", f"{MODEL} v1 from {spec_path.name}; worker and beat starting "
                                 f"(logs in {logs})")
            runner.wait_ready(services.items[0], "ready.", timeout=60)
            runner.wait_ready(services.items[2], "Application startup complete", timeout=60)
            traffic = Traffic(url)
            traffic.start()
            watch = Watcher(url)
            say("   serving", "v1 takes traffic (240 requests/s, labels arrive at once); checks every 5s; "
                          "its health endpoint is probed every 2s")
            since = time.time()
            healthy = _wait("a healthy scheduled check", lambda: watch.healthy_run(since), 60, services, traffic)
            say("   HEALTHY", f"check {healthy.id[:8]} of v1: {watch.kpis(healthy.id)}")

            say("2/4 new version", "v2 arrives through the registry hook (a serving bug: threshold far too high)")
            started = time.time()
            from tasks.publish import register_version

            register_version(MODEL, "2", artifact=data.dumps(data.Miscalibrated(v1)), settings=settings)
            bad_run = _episode(watch, services, traffic, started, "rollback", 60)
            since = time.time()
            healthy_v1 = _wait("a healthy check after rollback", lambda: watch.healthy_run(since, "1"),
                               60, services, traffic)
            say("   HEALTHY", f"check {healthy_v1.id[:8]} of v1: {watch.kpis(healthy_v1.id)}")

            say("3/4 data shift", "the customer base changes; churn now follows monthly charges")
            traffic.shift = 1.0
            started = time.time()
            drift_run = _episode(watch, services, traffic, started, "retrain", 120)
            since = time.time()
            final = _wait("a healthy check of the retrained version",
                          lambda: watch.healthy_run(since, watch.serving()), 60, services, traffic)
            say("   HEALTHY", f"check {final.id[:8]} of v{final.version}: {watch.kpis(final.id)}")
        finally:
            if traffic is not None:
                traffic.stopped.set()
                traffic.join(5)
            if not keep_running:
                services.stop()
        reports = _write_reports(url, {"bad-version": bad_run, "data-shift": drift_run, "healthy": final.id},
                                 base / "reports")
    say("4/4 done", f"in {time.monotonic() - began:.0f}s; {traffic.sent} predictions logged; "
                    f"{len(received)} grouped notifications reached the webhook")
    from collections import Counter

    transitions = Counter((a["transition"], a["rule"]) for m in received for a in m.get("alerts") or [])
    for (transition, rule), count in sorted(transitions.items()):
        click.echo(f"   webhook got {count} x {transition} {rule}")
    for action in reversed(watch.actions()):
        click.echo(f"   recovery #{action.id} {action.kind} {action.state}, {action.executions} execution(s); "
                   f"verification: {action.verification_state or 'none'}")
    click.echo("\nReports:")
    for path in reports:
        click.echo(f"   {path}")
    click.echo(f"\nDashboard: {dashboard}" + ("" if keep_running else
               " (stopped with the demo; `modelwatch demo --keep-running` leaves it up)"))
    click.echo("\nLook around:")
    for line in look_around(base):
        click.echo(f"   {line}")


def look_around(base: Path) -> list[str]:
    """Commands to read the demo's state, as they must be typed in this shell (see ``modelwatch_command``)."""
    from frontdoors.cli.common import modelwatch_command

    command = f"{modelwatch_command()} --data-dir {shlex.quote(str(base))}"
    return [f"{command} {rest}" for rest in ("status", "alerts", "recovery list", f"report {MODEL}")]


def _register(spec_path: Path, model) -> None:
    from monitor.config import get_settings
    from monitor.db.engine import session_scope
    from monitor.reference import read_table
    from monitor.registry import builtin
    from monitor.spec import load_spec_file
    from monitor.store import models as store

    (spec,) = load_spec_file(spec_path)
    with session_scope(get_settings().effective_database_url) as session:
        row, _ = store.upsert_model(session, spec)
        builtin.register(session, row, spec, "1", reference=read_table(spec.reference),
                         artifact=data.dumps(model), serving=True)
