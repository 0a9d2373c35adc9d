"""TLS to Redis from the broker URL alone: ``rediss://:PASSWORD@host:6380/0?ssl_cert_reqs=required``.

Credentials and TLS settings travel in the URL (``MODELWATCH_BROKER_URL``), so a deployment sets
one variable. The ``ssl_*`` query parameters become Celery's ``broker_use_ssl`` (and
``redis_backend_use_ssl``, should a Redis result backend ever be configured on the same URL).

Unlike kombu, which falls back to *not verifying* the server's certificate when a ``rediss://``
URL names no ``ssl_cert_reqs``, modelwatch then requires a valid certificate: turning verification
off must be written down (``ssl_cert_reqs=none``).
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.errors import ConfigError

CERT_REQS = {"required": ssl.CERT_REQUIRED, "cert_required": ssl.CERT_REQUIRED,
             "optional": ssl.CERT_OPTIONAL, "cert_optional": ssl.CERT_OPTIONAL,
             "none": ssl.CERT_NONE, "cert_none": ssl.CERT_NONE}
PATHS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")


def redis_ssl_options(url: str) -> dict[str, Any] | None:
    """The ``broker_use_ssl`` dict of a ``rediss://`` URL; None for any other URL.

    >>> redis_ssl_options("rediss://redis:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem")
    {'ssl_cert_reqs': <VerifyMode.CERT_REQUIRED: 2>, 'ssl_ca_certs': '/etc/ca.pem'}
    """
    parts = urlsplit(url)
    if parts.scheme != "rediss":
        return None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    reqs = query.get("ssl_cert_reqs", "required")
    if reqs.lower() not in CERT_REQS:
        raise ConfigError(f"MODELWATCH_BROKER_URL: ssl_cert_reqs={reqs!r}; expected required, optional or none")
    options: dict[str, Any] = {"ssl_cert_reqs": CERT_REQS[reqs.lower()]}
    options.update({key: query[key] for key in PATHS if query.get(key)})
    if "ssl_check_hostname" in query:
        options["ssl_check_hostname"] = query["ssl_check_hostname"].lower() != "false"
    return options
