"""The floor of benchmarks/fleet.py: a raw Celery six-task no-op chain.

Same broker, same worker shape (one prefork worker, concurrency 2) and the same delivery options
modelwatch's tasks use (JSON, late acks, reject on worker lost, prefetch 1), so the difference
from a modelwatch check is what the check does, not how Celery carries it. The last task counts
finished chains in Redis (``INCR``) and notes the first and last finish time.

    celery -A benchmarks.fleet_noop worker --concurrency 2 -Q noop     (FLEET_NOOP_BROKER=redis://...)
"""

from __future__ import annotations

import os
import time

from celery import Celery, chain

BROKER = os.environ.get("FLEET_NOOP_BROKER", "redis://127.0.0.1:6379/0")
DONE, FIRST, LAST = "fleet-noop:done", "fleet-noop:first", "fleet-noop:last"

app = Celery("fleet_noop", broker=BROKER)
app.conf.update(task_serializer="json", accept_content=["json"], result_backend=None, task_ignore_result=True,
                task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                task_default_queue="noop", worker_send_task_events=True, task_send_sent_event=True,
                broker_connection_retry_on_startup=True)
_redis = None


def _client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(BROKER)
    return _redis


@app.task(name="noop.stage")
def stage(run: dict) -> dict:
    return run


@app.task(name="noop.last")
def last(run: dict) -> dict:
    now = repr(time.time())
    client = _client()
    client.set(FIRST, now, nx=True)
    client.set(LAST, now)
    client.incr(DONE)
    return run


def launch(count: int) -> None:
    """Publish ``count`` six-task chains at once, over one connection."""
    with app.producer_or_acquire() as producer:
        for i in range(count):
            chain(stage.si({"run_id": i}), *(stage.s() for _ in range(4)), last.s()).apply_async(producer=producer)
