"""kombu's Redis transports with one guard, so a worker survives a Redis restart.

The crash this prevents (kombu 5.7 / Celery 5.7, every pool; `--pool solo` most often because it
holds ETA and retry messages while it polls): when the consumer loses its connection while it is
blocked in ``BRPOP`` and holds unacknowledged messages, Celery's
``Consumer.on_connection_error_after_connected`` first calls ``connection.collect()`` and then
``connection.close()``. ``collect()`` closes the channel, but the channel's close stops at its
first step (reading the pending ``BRPOP`` reply from a dead socket raises, and
``maybe_close_channel`` swallows it), then detaches the transport (``transport.client = None``).
``close()`` closes the same channel again; this time it reaches ``QoS.restore_unacked_once``,
which asks for a new Redis client, and ``Channel._connparams`` reads
``self.connection.client.hostname`` of the detached transport: ``AttributeError: 'NoneType'
object has no attribute 'hostname'``. ``ignore_errors`` only ignores connection errors, so the
AttributeError becomes Celery's "Unrecoverable error" and the worker process exits.

The guard turns "the transport was already released" into the connection error it is. Celery
then ignores it and reconnects. The unacknowledged messages are not lost by it: they are still in
Redis's unacked hash (unless Redis itself lost them) and any worker's ``restore_visible`` puts
them back after the visibility timeout. ``tests/integration/test_worker_pools.py`` restarts a real
redis-server under a prefork, a solo and a threads worker holding ETA messages.

Selected per broker URL scheme by ``workers.celeryconfig`` (``broker_transport``).
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES, redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class _ReleasedGuard:
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection was already released (reconnecting)")
        return super()._connparams(asynchronous=asynchronous)


class Channel(_ReleasedGuard, kombu_redis.Channel):
    """kombu's Redis channel that refuses to open a client for a released connection."""


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelChannel(_ReleasedGuard, kombu_redis.SentinelChannel):
    """The same guard for ``sentinel://`` brokers."""


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel


#: broker URL scheme -> the transport class to use for it
BY_SCHEME = {
    "redis": "workers.broker_transport:Transport",
    "rediss": "workers.broker_transport:Transport",
    "sentinel": "workers.broker_transport:SentinelTransport",
}

# kombu re-resolves the transport from the URL's scheme when it switches to the next of several
# broker URLs (``sentinel://h1;sentinel://h2``, on a failover or a publish retry), dropping the
# ``broker_transport`` it was given: the scheme's alias must name the guarded class as well.
TRANSPORT_ALIASES.update(BY_SCHEME)


def transport_for(url: str) -> str | None:
    """The guarded transport for a Redis broker URL; None for anything else (the embedded broker).

    >>> transport_for("redis://127.0.0.1:6379/0")
    'workers.broker_transport:Transport'
    >>> transport_for("filesystem://") is None
    True
    """
    return BY_SCHEME.get(url.partition("://")[0].lower())
