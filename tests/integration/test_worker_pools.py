"""Every way of running a worker survives a Redis restart (issue 12, finding 5).

A prefork, a solo and a threads worker each hold ETA messages (unacknowledged, as a delayed
recovery action or a retry countdown is held) while Redis is restarted empty under them. Before
``workers.broker_transport`` the solo worker exited with ``AttributeError: 'NoneType' object has
no attribute 'hostname'`` from kombu's ``restore_unacked`` (and prefork did too whenever its
consumer was polling at that moment); each must reconnect and take new work.
"""

from __future__ import annotations

import re

import pytest
from celery import Celery

from frontdoors import runner
from tests.conftest import _stack, wait_for
from workers.celeryconfig import build_config

pytestmark = pytest.mark.integration

POOLS = {"prefork": 1, "solo": 1, "threads": 2}  # pool -> concurrency


def _received(log_text: str) -> set[str]:
    return set(re.findall(r"tasks\.recovery\.execute\[([0-9a-f-]+)\] received", log_text))


@pytest.fixture
def stack(tmp_path, request, redis_url):
    """Redis and the embedded SQLite: the claims these tasks make need no more."""
    yield from _stack(tmp_path, request, {"MODELWATCH_BROKER_URL": redis_url})


def test_prefork_solo_and_threads_workers_survive_redis_restarted_empty(stack, redis_server):
    workers = {}
    for pool, concurrency in POOLS.items():
        workers[pool] = runner.start_worker(stack.env, log=stack.logs / f"worker-{pool}.log", pool=pool,
                                            concurrency=concurrency, queues="recovery", hostname=f"{pool}@%h")
        stack.services.append(workers[pool])
    for service in workers.values():
        runner.wait_ready(service, "ready.", timeout=60)

    def log(pool: str) -> str:
        return (stack.logs / f"worker-{pool}.log").read_text(errors="replace")

    client = Celery("publisher")
    client.config_from_object(build_config(stack.settings()))

    def publish(countdown: int | None) -> None:  # an action id that does not exist: its claim skips it
        client.send_task("tasks.recovery.execute", args=[10**9], countdown=countdown)

    # Each worker holds at least one ETA message when Redis goes away.
    def each_holds_one() -> bool:
        if all(_received(log(pool)) for pool in POOLS):
            return True
        publish(countdown=600)
        return False

    wait_for(each_holds_one, 60, "every worker to hold an ETA message", interval=0.5)
    before = {pool: _received(log(pool)) for pool in POOLS}
    redis_server["restart"]()

    # Each one reconnects and takes new work from the empty Redis.
    def each_took_new_work() -> bool:
        for pool, service in workers.items():
            assert service.alive(), f"the {pool} worker exited after the Redis restart:\n{service.tail(40)}"
        if all(_received(log(pool)) - before[pool] for pool in POOLS):
            return True
        publish(countdown=None)
        return False

    # 180 s: a worker's reconnect backs off (kombu retries at growing intervals), and on a loaded
    # 2-core machine (a whole-suite run) three workers reconnecting took more than 60 s once; what
    # is tested is that each survives and takes new work, not how fast
    wait_for(each_took_new_work, 180, "every worker to take a task after the restart", interval=1.0)
    for pool in POOLS:
        assert "attribute 'hostname'" not in log(pool), f"{pool}: {log(pool)[-3000:]}"
