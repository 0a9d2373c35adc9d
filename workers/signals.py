"""Worker lifecycle hooks: schema on start, fresh database pools after every fork, a thread
that samples the worker's own host (``MODELWATCH_HOST_METRICS_INTERVAL``) so the service watches
itself, and the end of a run's "queued" note once its ``collect`` has run (``workers.queued_runs``)."""

from __future__ import annotations

import logging
import os

from celery.signals import (beat_init, task_postrun, task_received, worker_init, worker_process_init, worker_ready,
                            worker_shutdown)

from monitor.config import get_settings
from monitor.db import engine
from monitor.db.migrate import upgrade
from workers.celeryconfig import RUN_STAGES

logger = logging.getLogger("modelwatch.workers")


def _migrate() -> None:
    settings = get_settings()
    if settings.auto_migrate and upgrade(settings.effective_database_url):
        logger.info("database schema upgraded at %s", settings.effective_database_url.split("@")[-1])


@worker_init.connect
def _on_worker_init(**_: object) -> None:
    _migrate()
    engine.dispose_all()
    from workers.preload import preload

    preload()  # before the pool forks, so that the children inherit it (workers/preload.py)
    from tasks.heap import freeze_imports

    freeze_imports()  # and its heap frozen, so no child's collector walks it again (tasks/heap.py)


@beat_init.connect
def _on_beat_init(**_: object) -> None:
    _migrate()


@worker_process_init.connect
def _on_process_init(**_: object) -> None:
    engine.dispose_all()


_samplers: list = []


@worker_ready.connect
def _start_host_metrics(sender=None, **_: object) -> None:
    """Started once the pool is up, in the main process only; its RSS counts the pool's children."""
    settings = get_settings()
    if settings.host_metrics_interval <= 0:
        return
    from monitor.service.host import Collector, Sampler, database_writer

    nodename = getattr(sender, "hostname", None) or "worker"
    disk = settings.data_dir if settings.data_dir.exists() else "/"
    sampler = Sampler(Collector(f"worker:{nodename}", pid=os.getpid(), disk_path=str(disk)),
                      database_writer(settings.effective_database_url), settings.host_metrics_interval)
    sampler.start()
    _samplers.append(sampler)
    logger.info("sampling this host every %gs into host_metrics", settings.host_metrics_interval)


@worker_shutdown.connect
def _stop_host_metrics(**_: object) -> None:
    while _samplers:
        _samplers.pop().stop()


COLLECT = "tasks.check.collect"  # a per-stage message an earlier version queued


def _started_run(name: str | None, args) -> str | None:
    """The run id of a message that starts a run at ``collect`` (the one its note stands for)."""
    if name not in (COLLECT, RUN_STAGES) or not args or not isinstance(args[0], dict):
        return None
    if name == RUN_STAGES and (args[0].get("from") or "collect") != "collect":
        return None
    return args[0].get("run_id") or None


@task_postrun.connect
def _forget_queued_run(sender=None, args=None, **_: object) -> None:
    """After a run's ``collect`` ran (its stages done, retrying or failed), the run is no longer
    waiting in the queue: from now on its stages' own times say whether it moves
    (``monitor.check.redrive``). After, not before: until ``collect`` has marked itself started,
    the note is what keeps the sweeper away. A note that cannot be dropped (the broker just went
    away) is harmless: a started run's note is never read, and old notes are pruned."""
    run_id = _started_run(getattr(sender, "name", None), args)
    if not run_id:
        return
    from workers import queued_runs

    with sender.app.pool.acquire(block=True) as connection:
        queued_runs.discard(run_id, connection)


@task_received.connect
def _forget_fetched_run(request=None, **_: object) -> None:
    """On the embedded (filesystem) broker a fetched message is gone from the broker's folder for
    good: kombu deletes the file when it hands it over and cannot restore it if this worker dies.
    So there the note goes when a run's ``collect`` is fetched, not when it has run; a run whose fetched
    collect dies with its worker is then judged by time and re-driven, instead of being taken for
    one still queued. (On Redis an unacknowledged message comes back, so its note stays.)"""
    run_id = _started_run(getattr(request, "name", None), request.args if request is not None else None)
    if not run_id:
        return
    from workers import queued_runs

    app = request.task.app if getattr(request, "task", None) is not None else None
    if app is None or not str(app.conf.broker_url or "").startswith("filesystem"):
        return  # on Redis nothing to do here: no pool connection taken in the consumer's loop
    with app.pool.acquire(block=True) as connection:
        queued_runs.discard(run_id, connection)
