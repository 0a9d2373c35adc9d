"""A fixed request header that authenticates modelwatch to the receiver of a webhook, e.g. an n8n
Webhook trigger with *Header Auth* (docs/n8n.md).

The spec names the header and the **environment variable** holding its value; the value itself
never sits in the spec (which is stored in the database, shown by the API and copied into
reviews)::

    alerts:
      - webhook:
          url: https://n8n.example.com/webhook/modelwatch-alerts
          auth: {header: X-Modelwatch-Auth, env: N8N_WEBHOOK_AUTH}

The variable is read by the worker when it sends, so rotating the secret is a worker restart
with the new value (the receiver's credential changed at the same time), not a spec change.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from monitor.config import env_secret

# RFC 9110 field-name (a "token"), and the headers modelwatch sets itself or the HTTP layer owns.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"content-type", "content-length", "host", "idempotency-key", "user-agent", "transfer-encoding",
             "connection", "webhook-id", "webhook-timestamp", "webhook-signature"}


class MissingSecret(LookupError):
    """The environment variable a channel's auth header names is not set in this process."""


class HeaderAuth(BaseModel):
    """``{header: <request header name>, env: <environment variable holding its value>}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str
    env: str

    @model_validator(mode="before")
    @classmethod
    def _no_value_in_clear(cls, value):
        if isinstance(value, dict) and "value" in value:
            raise ValueError("auth takes the header's value from an environment variable (env: NAME), "
                             "never from the spec itself; remove 'value'")
        return value

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _TOKEN.match(value):
            raise ValueError(f"auth header {value!r} is not a valid HTTP header name (letters, digits, '-', ...)")
        if value.lower() in _RESERVED:
            raise ValueError(f"auth header {value!r} is one modelwatch or HTTP sets itself; choose another name, "
                             "e.g. X-Modelwatch-Auth or Authorization")
        return value

    @field_validator("env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV.match(value):
            raise ValueError(f"auth env {value!r} is not an environment variable name (letters, digits, '_')")
        return value

    def value(self) -> str | None:
        """The header's value in this process's environment, or None while the variable is unset."""
        return env_secret(self.env)

    def resolve(self) -> tuple[str, str]:
        """``(header, value)`` from this process's environment; :class:`MissingSecret` if it is unset."""
        value = self.value()
        if value is None:
            raise MissingSecret(f"environment variable {self.env} (value of the {self.header} auth header) is not "
                                "set for the worker that sends this channel")
        return self.header, value
