"""``modelwatch run`` and ``modelwatch demo``: commands that start real worker and beat processes."""

from __future__ import annotations

import os
import signal
import time

import click

from frontdoors.cli.common import get_settings, state_line


def register(main: click.Group) -> None:
    main.add_command(run)
    main.add_command(demo)
    main.add_command(serve)


@click.command()
@click.option("--concurrency", default=2, show_default=True, help="Worker processes.")
@click.option("--no-beat", is_flag=True, help="Do not start beat (one beat per deployment).")
def run(concurrency: int, no_beat: bool) -> None:
    """Worker and beat on this machine (the embedded default needs nothing else)."""
    from frontdoors import runner
    from monitor.db.migrate import upgrade

    settings = get_settings()
    if settings.auto_migrate:
        upgrade(settings.effective_database_url)
    env = dict(os.environ)
    services = runner.Services([runner.start_worker(env, concurrency=concurrency, loglevel=settings.log_level)])
    if not no_beat:
        services.items.append(runner.start_beat(env, loglevel=settings.log_level))
    click.echo(f"modelwatch running: worker{'' if no_beat else ' + beat'} on "
               f"{settings.effective_broker_url.split('@')[-1]}; Ctrl-C stops")
    click.echo(state_line())
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping and all(s.alive() for s in services.items):
            time.sleep(0.5)
    finally:
        services.stop()


@click.command()
@click.option("--data-dir", default=None, help="Where the demo keeps its state (default: DATA_DIR/demo).")
@click.option("--keep-running", is_flag=True, help="Leave worker, beat and the dashboard running at the end.")
def demo(data_dir: str | None, keep_running: bool) -> None:
    """The whole story on the embedded default: a model, trouble, alerts, recovery, reports."""
    from frontdoors.demo.story import run_demo

    run_demo(data_dir, keep_running=keep_running)


SHUTDOWN_GRACE = 2  # seconds open requests (event streams) get to finish when the API stops


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API processes.")
def serve(host: str, port: int, workers: int) -> None:
    """The HTTP API (OpenAPI at /docs), report pages and Prometheus /metrics."""
    import uvicorn

    from monitor.db.migrate import upgrade

    if get_settings().auto_migrate:
        upgrade(get_settings().effective_database_url)
    # Event streams (GET /v1/events) never end on their own: without a bound on the graceful
    # shutdown, a stop would wait for every open dashboard. They reconnect with Last-Event-ID.
    uvicorn.run("frontdoors.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info", timeout_graceful_shutdown=SHUTDOWN_GRACE)
