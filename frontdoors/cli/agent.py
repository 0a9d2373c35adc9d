"""``modelwatch agent``: sample a serving host's CPU, memory, disk and process memory for a model.

Run it beside the model's serving process. It writes to the database directly (the same
``MODELWATCH_DATABASE_URL`` as the workers) or, with ``--api URL --token T``, pushes through
``POST /v1/host-metrics`` for hosts that only reach the API. The model's ``max_cpu_pct`` and
``max_memory_pct`` rules judge these samples over each check window.
"""

from __future__ import annotations

import signal
import threading
from collections import deque

import click

from monitor.durations import parse_duration
from monitor.errors import ModelwatchError

#: samples kept for the next push while the API cannot be reached (about 4 h at 15 s)
BACKLOG = 1000


def register(main: click.Group) -> None:
    main.add_command(agent)


def _seconds(_ctx, _param, value: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds < 1:
        raise click.BadParameter("expected at least 1s")
    return seconds


class ApiPusher:
    """Pushes samples to ``POST /v1/host-metrics``; unsent ones wait (bounded) for the next push."""

    def __init__(self, api: str, token: str, model: str):
        import httpx

        self.model, self.url = model, api.rstrip("/") + "/v1/host-metrics"
        self.client = httpx.Client(timeout=10, headers={"Authorization": f"Bearer {token}"})
        self.backlog: deque = deque(maxlen=BACKLOG)

    def __call__(self, sample) -> str:
        import httpx

        payload = sample.to_json()
        payload.pop("source")
        self.backlog.append(payload)
        try:
            response = self.client.post(self.url, json={"model": self.model, "samples": list(self.backlog)})
        except httpx.HTTPError as exc:
            raise ModelwatchError(f"cannot reach {self.url}: {exc}; {len(self.backlog)} sample(s) kept") from None
        if response.status_code >= 400:
            detail = response.json().get("detail") if "json" in response.headers.get("content-type", "") else ""
            if response.status_code in (401, 403, 404, 422):
                self.backlog.clear()  # retrying will not help: the token, the model or the payload is wrong
            raise ModelwatchError(f"{self.url} answered {response.status_code}: {detail or response.text[:200]}")
        self.backlog.clear()
        body = response.json()
        return f"pushed: {body['accepted']} accepted, {body['duplicates']} duplicate, {body['quarantined']} quarantined"


def _database_writer(model: str):
    from frontdoors.cli.common import database_url
    from monitor.db.engine import session_scope
    from monitor.store import models as store, operations

    url = database_url()
    with session_scope(url) as session:
        model_id = store.get_model(session, model).id

    def write(sample) -> str:
        with session_scope(url) as session:
            counts = operations.save_host_samples(session, [sample.to_row(model_id)])
        return "written" if counts.accepted else "duplicate"

    return write


@click.command()
@click.option("--model", "model_name", required=True, help="The registered model this host serves.")
@click.option("--interval", default="15s", show_default=True, callback=_seconds, help="Time between samples.")
@click.option("--once", is_flag=True, help="Take one sample, store it, and exit.")
@click.option("--pid", type=int, default=None, help="Serving process whose resident memory (with its children) to record.")
@click.option("--disk", "disk_path", default="/", show_default=True, help="Filesystem whose usage to record.")
@click.option("--api", default=None, help="Push to this modelwatch API (e.g. http://monitor:8000) instead of the database.")
@click.option("--token", default=None, help="A write token of the API (needed with --api).")
def agent(model_name: str, interval: float, once: bool, pid: int | None, disk_path: str, api: str | None,
          token: str | None) -> None:
    """Sample this host's CPU, memory and disk (psutil) for model NAME's resource rules."""
    from monitor.service.host import Collector

    if api and not token:
        raise click.UsageError("--api needs --token (a write token of the API)")
    if pid is not None:
        import psutil

        if not psutil.pid_exists(pid):
            raise click.BadParameter(f"no process with pid {pid}", param_hint="--pid")
    write = ApiPusher(api, token, model_name) if api else _database_writer(model_name)
    collector = Collector("agent", pid=pid, disk_path=disk_path)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    if not once:
        click.echo(f"sampling {collector.host} for {model_name} every {interval:g}s into "
                   f"{api or 'the database'}; Ctrl-C stops")
    while not stopping.is_set():
        sample = collector.sample()
        line = (f"{sample.ts:%Y-%m-%d %H:%M:%S} {sample.host} cpu {sample.cpu_pct:.1f}% "
                f"memory {sample.memory_pct:.1f}% disk {'-' if sample.disk_pct is None else f'{sample.disk_pct:.1f}%'}"
                + (f" rss {sample.rss_bytes / 2**20:.0f} MiB" if sample.rss_bytes else ""))
        try:
            click.echo(f"{line}: {write(sample)}")
        except ModelwatchError as exc:
            if once:
                raise
            click.secho(f"{line}: {exc}", fg="yellow", err=True)
        if once:
            return
        stopping.wait(interval)
