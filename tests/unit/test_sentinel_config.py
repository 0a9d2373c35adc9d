"""sentinel:// broker URLs: what Celery and modelwatch's own Redis clients are given (no Redis needed;
the failover itself is tests/integration/test_sentinel_failover.py)."""

from __future__ import annotations

import pytest

from monitor import redis_clients
from monitor.config import Settings
from monitor.errors import ConfigError
from workers.celeryconfig import SENTINEL_PUBLISH_RETRY, build_config

SENTINELS = "sentinel://:pw@10.0.0.1:26379/1;sentinel://10.0.0.2:26379;sentinel://10.0.0.3"


def test_a_sentinel_url_gives_kombu_the_master_name_and_publishes_a_failover_long_retry(tmp_path):
    config = build_config(Settings(data_dir=tmp_path, broker_url=SENTINELS, sentinel_master="prod"))
    assert config["broker_url"] == SENTINELS
    assert config["broker_transport_options"]["master_name"] == "prod"
    assert config["broker_transport_options"]["visibility_timeout"] > 0  # the Redis options still apply
    assert config["task_publish_retry_policy"] == SENTINEL_PUBLISH_RETRY

    plain = build_config(Settings(data_dir=tmp_path, broker_url="redis://10.0.0.1:6379/0"))
    assert "master_name" not in plain["broker_transport_options"]
    assert "task_publish_retry_policy" not in plain


def test_modelwatch_clients_ask_the_sentinels_for_the_named_primary():
    client = redis_clients.client(SENTINELS, "prod", socket_timeout=1)
    pool = client.connection_pool
    assert pool.service_name == "prod" and pool.connection_kwargs["db"] == 1
    assert pool.connection_kwargs["password"] == "pw"
    assert [(c.connection_pool.connection_kwargs["host"], c.connection_pool.connection_kwargs["port"])
            for c in pool.sentinel_manager.sentinels] == [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26379)]
    assert redis_clients.is_redis(SENTINELS) and not redis_clients.is_redis("filesystem://")


@pytest.mark.parametrize("url, expected", [
    ("sentinel://", "'sentinel://' is not sentinel://host:port"), (";", "names no sentinel"),
    ("sentinel://h1:26379;redis://h2:6379", "'redis://h2:6379' is not sentinel://"),
    ("sentinel://h1:26379/x", "database 'x' must be a number"),
])
def test_a_malformed_sentinel_url_names_the_setting(url, expected):
    with pytest.raises(ConfigError, match="MODELWATCH_BROKER_URL") as caught:
        redis_clients.sentinel_nodes(url)
    assert expected in str(caught.value)


def test_switching_to_the_next_broker_url_keeps_the_guarded_transport():
    """kombu re-resolves the transport from the scheme when it moves to the next URL (a failover,
    a publish retry): the guard against the worker-killing restore must survive that switch."""
    from kombu import Connection

    from workers.broker_transport import SentinelTransport, transport_for

    connection = Connection(SENTINELS.replace(":pw@", "@"), transport=transport_for(SENTINELS))
    connection.maybe_switch_next()
    assert type(connection.transport) is SentinelTransport
