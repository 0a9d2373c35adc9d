"""Celery settings, derived from modelwatch's :class:`~monitor.config.Settings`.

Every option a reliable chain depends on is set here on purpose rather than inherited:
JSON only, late acks with reject-on-worker-lost (a killed worker's message is redelivered),
prefetch 1 (a long check does not hoard messages), time limits, one queue per kind of work.
"""

from __future__ import annotations

from typing import Any

from kombu import Queue

from beat_schedule import beat_schedule
from monitor.config import Settings
from workers.broker_transport import transport_for
from workers.tls import redis_ssl_options

QUEUES = ("checks", "alerts", "recovery", "ingest", "probes")
ROUTES = {
    "tasks.check.*": {"queue": "checks"},
    "tasks.dispatch.*": {"queue": "checks"},
    "tasks.alerts.*": {"queue": "alerts"},
    "tasks.export.*": {"queue": "alerts"},
    "tasks.recovery.*": {"queue": "recovery"},
    "tasks.ingest.*": {"queue": "ingest"},
    "tasks.probes.*": {"queue": "probes"},
}


#: Redis priority of a check run's message by the stage it starts at (0 = taken first). A run's
#: stages run back to back in one task (``tasks.check.run_stages``, from ``collect``), so a started
#: run never waits behind new collects; a run that goes on from a later stage (a transient error's
#: retry, a sweeper's re-drive) goes before any new run's collect, and the later its stage, the
#: sooner. A forced or registry check's collect (``PRIORITY_FORCED``, ``tasks.publish.launch``)
#: goes ahead of the scheduled fleet's collects and behind every started run. Keyed by the
#: per-stage task names, which keep these priorities for messages an earlier version queued.
STAGE_PRIORITIES = {"tasks.check.collect": 9, "tasks.check.evaluate": 6, "tasks.check.detect": 4,
                    "tasks.check.alert": 2, "tasks.check.schedule_recovery": 2, "tasks.check.report": 0}
PRIORITY_FORCED = 8
PRIORITY_STEPS = [0, 2, 4, 6, 8, 9]
#: The task that runs a check run's stages back to back in one worker process (``tasks/check.py``).
RUN_STAGES = "tasks.check.run_stages"


def run_priority(stage: str, forced: bool = False) -> int:
    """The priority of a run's message that starts at ``stage``.

    >>> run_priority("collect"), run_priority("collect", forced=True), run_priority("detect", forced=True)
    (9, 8, 4)
    """
    if forced and stage == "collect":
        return PRIORITY_FORCED
    return STAGE_PRIORITIES[f"tasks.check.{stage}"]


def _stage_priority_routes() -> dict[str, dict[str, Any]]:
    """Exact routes for the check run and the per-stage tasks (they win over the ``tasks.check.*``
    pattern) carrying their priority; every other message has none, which Redis files under 0
    (first). A publisher that names a priority (``tasks.publish.launch``, a retry) overrides it.

    Only Redis honours it: kombu keeps one list per ``priority_steps`` value and BRPOPs them in
    order. The embedded filesystem broker ignores priorities and gives FIFO order.
    """
    routes = {name: {"queue": "checks", "priority": priority} for name, priority in STAGE_PRIORITIES.items()}
    return {**routes, RUN_STAGES: {"queue": "checks", "priority": run_priority("collect")}}


def _embedded_broker_options(settings: Settings) -> dict[str, Any]:
    """kombu's filesystem transport: one folder the worker and beat processes share.

    Chosen over the SQLAlchemy transport, whose fixed 1 s polling made a 20-chain run take 60 s
    against 3.5 s here. It cannot redeliver a message after a worker is SIGKILLed (Redis can):
    the embedded default promises one-machine convenience, not crash-proof delivery.
    """
    queue = settings.broker_folder / "queue"
    processed = settings.broker_folder / "processed"
    control = settings.broker_folder / "control"
    for folder in (queue, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(queue), "data_folder_out": str(queue), "processed_folder": str(processed),
            "control_folder": str(control), "store_processed": False, "polling_interval": 0.1}


def _redis_options(settings: Settings) -> dict[str, Any]:
    timeout = settings.visibility_timeout
    # Unacked messages of a dead worker come back after the visibility timeout; sweep for them
    # often enough (every `interval` s, throttle 1) that the timeout is what counts, up to the
    # 300 s default. Above 900 s a 10 x slower sweep is close enough.
    interval = max(1, min(10, timeout // 5))
    return {"visibility_timeout": timeout, "unacked_restore_interval": interval,
            "unacked_restore_throttle": 1 if timeout <= 900 else 10,
            "priority_steps": PRIORITY_STEPS}  # stage ordering: _stage_priority_routes


def _sentinel_options(settings: Settings) -> dict[str, Any]:
    """kombu's Sentinel transport (``sentinel://h1:26379;sentinel://h2:26379``): which primary to
    ask the sentinels for, and timeouts so a dead sentinel is skipped in seconds."""
    if not settings.effective_broker_url.startswith("sentinel://"):
        return {}
    return {"master_name": settings.sentinel_master,
            "sentinel_kwargs": {"socket_timeout": 2, "socket_connect_timeout": 2}}


#: With Sentinel, a publish during a failover (the sentinels still name the dead primary for
#: down-after-milliseconds plus the election) must wait for the promoted replica instead of
#: failing the stage that publishes: retry for about 15 s (0, 0.5, 1, ... 2 s apart), enough for
#: a failover with down-after-milliseconds up to ~10 s. Plain Redis keeps Celery's default
#: (~1 s): a Redis that is down is reported at once (the API answers 503).
SENTINEL_PUBLISH_RETRY = {"max_retries": 10, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}


def build_config(settings: Settings) -> dict[str, Any]:
    embedded = settings.embedded_broker
    transport_options = (_embedded_broker_options(settings) if embedded
                         else _redis_options(settings) | _sentinel_options(settings))
    tls = redis_ssl_options(settings.effective_broker_url)
    return {
        **({"broker_use_ssl": tls, "redis_backend_use_ssl": tls} if tls else {}),
        "broker_url": settings.effective_broker_url,
        # kombu's Redis transport with a guard that keeps a worker alive across a Redis restart
        **({"broker_transport": transport} if (transport := transport_for(settings.effective_broker_url)) else {}),
        "broker_transport_options": transport_options,
        **({"task_publish_retry_policy": SENTINEL_PUBLISH_RETRY}
           if settings.effective_broker_url.startswith("sentinel://") else {}),
        "broker_connection_retry_on_startup": True,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "task_default_queue": "checks",
        "task_queues": [Queue(name) for name in QUEUES],
        "task_routes": {**_stage_priority_routes(), **ROUTES},
        "task_create_missing_queues": False,
        # what Flower shows tasks from; MODELWATCH_TASK_EVENTS=false for a fleet with no Flower
        "worker_send_task_events": settings.task_events,
        "task_send_sent_event": settings.task_events,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(settings),
        "beat_schedule_filename": str(settings.data_dir / "celerybeat-schedule"),
        "worker_cancel_long_running_tasks_on_connection_loss": True,
    }
