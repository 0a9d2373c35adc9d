"""Who may call the registry hook: HMAC-SHA256 signatures with a timestamp and a delivery id.

Two forms, both verified over the raw request body before it is parsed:

* **MLflow** (``X-MLflow-Signature``), as MLflow's ``mlflow/webhooks/delivery.py`` sends it:
  ``v1,`` + base64(HMAC-SHA256(secret, f"{delivery_id}.{timestamp}.{body}")) with the headers
  ``X-MLflow-Delivery-Id`` (a uuid4) and ``X-MLflow-Timestamp`` (Unix seconds).
* **plain** (``X-Modelwatch-Signature``), for any other registry or a deploy script:
  ``sha256=`` + hex(HMAC-SHA256(secret, f"{delivery_id}.{timestamp}.{body}")) with the headers
  ``X-Modelwatch-Delivery-Id`` and ``X-Modelwatch-Timestamp``. :func:`sign_plain` makes them.

The timestamp must be within ``tolerance`` seconds of the receiver's clock (both ways), so a
captured request cannot be replayed later; within that window the delivery id, persisted by the
hook, makes a replay a no-op.

    >>> headers = sign_plain("s3cret", b'{"model": "churn", "version": "7"}', now=1700000000, delivery_id="d-1")
    >>> verify({k.lower(): v for k, v in headers.items()}, b'{"model": "churn", "version": "7"}',
    ...        "s3cret", now=1700000010).source
    'plain'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

MLFLOW_SIGNATURE = "x-mlflow-signature"
MLFLOW_TIMESTAMP = "x-mlflow-timestamp"
MLFLOW_DELIVERY_ID = "x-mlflow-delivery-id"
PLAIN_SIGNATURE = "x-modelwatch-signature"
PLAIN_TIMESTAMP = "x-modelwatch-timestamp"
PLAIN_DELIVERY_ID = "x-modelwatch-delivery-id"

DEFAULT_TOLERANCE = 300.0


class HookRejected(Exception):
    """A delivery refused before any work: ``status`` is the HTTP answer, the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class VerifiedDelivery:
    source: str          # "mlflow" or "plain"
    delivery_id: str
    timestamp: int


def _mac(secret: str, delivery_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).digest()


def sign_plain(secret: str, body: bytes, *, now: float | None = None, delivery_id: str | None = None) -> dict[str, str]:
    """The headers that sign ``body`` for the plain form (for senders, scripts and tests)."""
    delivery_id = delivery_id or str(uuid.uuid4())
    timestamp = str(int(time.time() if now is None else now))
    return {"X-Modelwatch-Delivery-Id": delivery_id, "X-Modelwatch-Timestamp": timestamp,
            "X-Modelwatch-Signature": "sha256=" + _mac(secret, delivery_id, timestamp, body).hex()}


def _scheme(headers: Mapping[str, str]) -> tuple[str, str, str, str]:
    """(source, signature, timestamp header, delivery id header) of whichever form was sent."""
    if MLFLOW_SIGNATURE in headers or MLFLOW_DELIVERY_ID in headers:
        return "mlflow", headers.get(MLFLOW_SIGNATURE, ""), MLFLOW_TIMESTAMP, MLFLOW_DELIVERY_ID
    if PLAIN_SIGNATURE in headers:
        return "plain", headers[PLAIN_SIGNATURE], PLAIN_TIMESTAMP, PLAIN_DELIVERY_ID
    raise HookRejected(401, "unsigned delivery: expected an X-MLflow-Signature header (MLflow webhook with a "
                            "secret) or X-Modelwatch-Signature: sha256=<hex> (see docs/registry.md)")


def verify(headers: Mapping[str, str], body: bytes, secret: str | None, *, now: float | None = None,
           tolerance: float = DEFAULT_TOLERANCE) -> VerifiedDelivery:
    """Check a delivery's signature and freshness; raise :class:`HookRejected` naming the problem.

    ``headers`` must have lower-case names (Starlette's ``request.headers`` matches any case).
    """
    if not secret:
        raise HookRejected(403, "the registry hook is disabled: set MODELWATCH_WEBHOOK_SECRET on the API")
    source, signature, timestamp_header, id_header = _scheme(headers)
    if not signature:
        raise HookRejected(401, f"unsigned delivery: {source} webhook without a signature header "
                                "(create the MLflow webhook with secret= MODELWATCH_WEBHOOK_SECRET)")
    delivery_id = headers.get(id_header, "").strip()
    timestamp = headers.get(timestamp_header, "").strip()
    if not delivery_id or len(delivery_id) > 128:
        raise HookRejected(400, f"missing or over-long {id_header} header (a unique id of at most 128 characters)")
    if not timestamp.isdigit():
        raise HookRejected(400, f"missing or malformed {timestamp_header} header: expected Unix seconds")
    expected = _mac(secret, delivery_id, timestamp, body)
    if source == "mlflow":
        version, _, encoded = signature.partition(",")
        try:
            offered = base64.b64decode(encoded, validate=True) if version == "v1" else b""
        except ValueError:
            offered = b""
    else:
        scheme, _, encoded = signature.partition("=")
        try:
            offered = bytes.fromhex(encoded) if scheme == "sha256" else b""
        except ValueError:
            offered = b""
    if not hmac.compare_digest(offered, expected):
        raise HookRejected(401, f"wrong signature in the {source} delivery {delivery_id!r}: HMAC-SHA256 over "
                                "'<delivery id>.<timestamp>.<raw body>' with MODELWATCH_WEBHOOK_SECRET does not match")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        raise HookRejected(400, f"stale delivery {delivery_id!r}: its timestamp is {now - int(timestamp):+.0f}s from "
                                f"this server's clock (tolerance {tolerance:.0f}s); check the sender's clock")
    return VerifiedDelivery(source, delivery_id, int(timestamp))
