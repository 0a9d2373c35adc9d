"""rediss:// broker URLs become Celery's TLS options; a certificate is required unless waived."""

from __future__ import annotations

import ssl

import pytest

from monitor.config import Settings
from monitor.errors import ConfigError
from workers.celeryconfig import build_config
from workers.tls import redis_ssl_options


def test_plain_urls_get_no_tls_options(tmp_path):
    assert redis_ssl_options("redis://:pw@redis:6379/0") is None
    config = build_config(Settings(data_dir=tmp_path, broker_url="redis://redis:6379/0"))
    assert "broker_use_ssl" not in config and "redis_backend_use_ssl" not in config


def test_rediss_maps_cert_reqs_and_files_into_broker_use_ssl(tmp_path):
    url = ("rediss://:pw@redis:6380/0?ssl_cert_reqs=CERT_OPTIONAL&ssl_ca_certs=/etc/ca.pem"
           "&ssl_certfile=/etc/client.pem&ssl_keyfile=/etc/client.key&ssl_check_hostname=false")
    expected = {"ssl_cert_reqs": ssl.CERT_OPTIONAL, "ssl_ca_certs": "/etc/ca.pem",
                "ssl_certfile": "/etc/client.pem", "ssl_keyfile": "/etc/client.key", "ssl_check_hostname": False}
    assert redis_ssl_options(url) == expected
    config = build_config(Settings(data_dir=tmp_path, broker_url=url))
    assert config["broker_use_ssl"] == expected == config["redis_backend_use_ssl"]


@pytest.mark.parametrize("value, mode", [("required", ssl.CERT_REQUIRED), ("none", ssl.CERT_NONE),
                                         ("optional", ssl.CERT_OPTIONAL), ("CERT_NONE", ssl.CERT_NONE)])
def test_cert_reqs_spellings(value, mode):
    assert redis_ssl_options(f"rediss://redis/0?ssl_cert_reqs={value}")["ssl_cert_reqs"] is mode


def test_rediss_without_cert_reqs_requires_a_certificate():
    """kombu alone would fall back to CERT_NONE here, silently trusting any server."""
    assert redis_ssl_options("rediss://redis:6380/0") == {"ssl_cert_reqs": ssl.CERT_REQUIRED}


def test_a_misspelt_cert_reqs_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="ssl_cert_reqs='sometimes'"):
        redis_ssl_options("rediss://redis/0?ssl_cert_reqs=sometimes")
