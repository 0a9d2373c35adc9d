"""Redis clients from the broker URL, plain or behind Redis Sentinel.

Celery reaches Redis through kombu, which understands ``sentinel://`` by itself. modelwatch's
own clients (the event outbox's wake-up notices, the API's event stream and its queue-depth
gauge) must follow the same primary, or after a failover they would publish to a replica that
refuses writes, or to a dead address. So every direct client is made here:

- ``redis://`` / ``rediss://`` / ``unix://``: ``redis.Redis.from_url`` as before;
- ``sentinel://:password@host1:26379/0;sentinel://host2:26379;...`` (kombu's form): a
  ``redis.sentinel.Sentinel`` over the listed sentinels and ``master_for(master_name)``, whose
  pool asks the sentinels for the current primary at every new connection, so a client made
  before a failover reaches the promoted replica after it.

``master_name`` is the setting ``MODELWATCH_SENTINEL_MASTER`` (default ``mymaster``, the name
in Debian's sentinel.conf). The password of the URL is the Redis data nodes' password; the
sentinels themselves are reached without one unless ``sentinel_password`` is given.

>>> sentinel_nodes("sentinel://:pw@10.0.0.1:26379/2;sentinel://10.0.0.2;sentinel://[::1]:26380")
([('10.0.0.1', 26379), ('10.0.0.2', 26379), ('::1', 26380)], 'pw', 2)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from monitor.errors import ConfigError

SENTINEL_PORT = 26379
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_sentinel(url: str) -> bool:
    return url.startswith("sentinel://")


def is_redis(url: str) -> bool:
    """Does ``url`` reach Redis (directly or through Sentinel)?"""
    return url.startswith(REDIS_SCHEMES) or is_sentinel(url)


def sentinel_nodes(url: str) -> tuple[list[tuple[str, int]], str | None, int]:
    """The sentinels ``(host, port)``, the data nodes' password and the database number of a
    ``sentinel://...;sentinel://...`` URL (kombu's form); the first password and db given win."""
    nodes: list[tuple[str, int]] = []
    password, db = None, 0
    for part in filter(None, (p.strip() for p in url.split(";"))):
        parts = urlsplit(part)
        if parts.scheme != "sentinel" or not parts.hostname:
            raise ConfigError(f"MODELWATCH_BROKER_URL: {part.split('@')[-1]!r} is not sentinel://host:port "
                              "(separate sentinels with ';')")
        try:
            port = parts.port or SENTINEL_PORT
        except ValueError:
            raise ConfigError(f"MODELWATCH_BROKER_URL: bad port in {part.split('@')[-1]!r}") from None
        nodes.append((parts.hostname, port))
        if parts.password and password is None:
            password = unquote(parts.password)
        path = parts.path.strip("/")
        if path and db == 0:
            if not path.isdigit():
                raise ConfigError(f"MODELWATCH_BROKER_URL: database {path!r} must be a number")
            db = int(path)
    if not nodes:
        raise ConfigError("MODELWATCH_BROKER_URL: sentinel:// names no sentinel")
    return nodes, password, db


def client(url: str, master_name: str = "mymaster", **options: Any):
    """A ``redis.Redis`` for ``url``: through Sentinel's current primary when it is ``sentinel://``."""
    import redis
    from redis.sentinel import Sentinel

    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    nodes, password, db = sentinel_nodes(url)
    sentinel = Sentinel(nodes, sentinel_kwargs=_sentinel_kwargs(options), **options)
    return sentinel.master_for(master_name, db=db, password=password)


def async_client(url: str, master_name: str = "mymaster", **options: Any):
    """The asyncio twin of :func:`client` (the API's event stream)."""
    import redis.asyncio as aioredis
    from redis.asyncio.sentinel import Sentinel

    if not is_sentinel(url):
        return aioredis.Redis.from_url(url, **options)
    nodes, password, db = sentinel_nodes(url)
    sentinel = Sentinel(nodes, sentinel_kwargs=_sentinel_kwargs(options), **options)
    return sentinel.master_for(master_name, db=db, password=password)


def _sentinel_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Timeouts for the sentinels themselves, so a dead sentinel costs seconds, not forever."""
    return {key: options[key] for key in ("socket_timeout", "socket_connect_timeout") if key in options}
