"""Celery queue depth for ``/metrics``, read from the broker itself (so every API process agrees).

* Redis: ``LLEN`` of each queue's list, plus kombu's priority sub-lists (``name\\x06\\x16{3,6,9}``).
  Messages a worker has reserved (unacked, or waiting for their ETA) are not in the list.
* kombu's filesystem broker (the embedded default): the ``<ms>_<uuid>.<queue>.msg`` files in its
  queue folder.

A broker that cannot be reached gives ``modelwatch_broker_up 0`` and no depths, never an error:
a scrape must still show everything the database knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily

from monitor.config import Settings

REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (3, 6, 9)  # kombu's PRIORITY_STEPS without 0, which is the plain list


@dataclass(frozen=True)
class BrokerState:
    up: bool
    depths: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def queue_names() -> tuple[str, ...]:
    from workers.celeryconfig import QUEUES  # the queues the Celery app declares

    return tuple(QUEUES)


def redis_depths(url: str, queues: tuple[str, ...], timeout: float = 2.0, master: str = "mymaster") -> dict[str, int]:
    from monitor import redis_clients

    client = redis_clients.client(url, master, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
                for step in REDIS_PRIORITY_STEPS:
                    pipe.llen(f"{queue}{REDIS_PRIORITY_SEPARATOR}{step}")
            lengths = pipe.execute()
    finally:
        client.close()
    per_queue = 1 + len(REDIS_PRIORITY_STEPS)
    return {queue: int(sum(lengths[i * per_queue:(i + 1) * per_queue])) for i, queue in enumerate(queues)}


def filesystem_depths(settings: Settings, queues: tuple[str, ...]) -> dict[str, int]:
    folder = settings.broker_folder / "queue"
    if not folder.is_dir():
        raise FileNotFoundError(f"broker folder {folder} does not exist (no worker or CLI has used it yet)")
    depths = dict.fromkeys(queues, 0)
    for entry in folder.iterdir():
        queue = entry.name.partition(".")[2].removesuffix(".msg")
        if queue in depths and entry.name.endswith(".msg"):
            depths[queue] += 1
    return depths


def broker_state(settings: Settings) -> BrokerState:
    queues = queue_names()
    url = settings.effective_broker_url
    try:
        if settings.embedded_broker:
            return BrokerState(True, filesystem_depths(settings, queues))
        if url.startswith(("redis://", "rediss://", "unix://", "sentinel://")):
            return BrokerState(True, redis_depths(url, queues, master=settings.sentinel_master))
    except Exception as exc:  # noqa: BLE001 - any broker failure is "down", reported as a gauge
        return BrokerState(False, error=f"{type(exc).__name__}: {exc}")
    return BrokerState(False, error=f"queue depth is not supported for broker {url.split(':', 1)[0]}://")


class BrokerCollector:
    def __init__(self, settings: Settings):
        self.settings = settings

    def collect(self):
        state = broker_state(self.settings)
        up = GaugeMetricFamily("modelwatch_broker_up", "1 if the Celery broker answered this scrape, else 0")
        up.add_metric([], 1.0 if state.up else 0.0)
        yield up
        depth = GaugeMetricFamily("modelwatch_queue_depth", "Messages waiting in each Celery queue",
                                  labels=["queue"])
        for queue, count in sorted(state.depths.items()):
            depth.add_metric([queue], count)
        yield depth
