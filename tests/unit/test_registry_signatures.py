"""The registry hook's signature check: MLflow's scheme (checked against MLflow's own signer) and
the plain form; missing, wrong, tampered and stale deliveries are refused with a named reason."""

from __future__ import annotations

import json

import pytest

from monitor.registry.hook import MLFLOW_ALIAS_CREATED, parse
from monitor.registry.signatures import HookRejected, sign_plain, verify

SECRET = "s3cret"
NOW = 1_800_000_000
BODY = json.dumps({"model": "fraud", "version": "7"}).encode()


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def mlflow_headers(body: bytes, *, secret: str = SECRET, timestamp: int = NOW, delivery_id: str = "6f1c") -> dict:
    """Headers exactly as MLflow's webhook delivery builds them (its own signing function)."""
    from mlflow.webhooks.delivery import _generate_hmac_signature

    return {"x-mlflow-delivery-id": delivery_id, "x-mlflow-timestamp": str(timestamp),
            "x-mlflow-signature": _generate_hmac_signature(secret, delivery_id, str(timestamp), body.decode())}


def rejected(headers, body=BODY, secret=SECRET, now=NOW) -> HookRejected:
    with pytest.raises(HookRejected) as caught:
        verify(headers, body, secret, now=now)
    return caught.value


def test_plain_delivery_signed_with_the_secret_is_accepted():
    delivery = verify(lower(sign_plain(SECRET, BODY, now=NOW, delivery_id="d-1")), BODY, SECRET, now=NOW + 5)
    assert (delivery.source, delivery.delivery_id, delivery.timestamp) == ("plain", "d-1", NOW)


def test_mlflow_delivery_signed_by_mlflow_is_accepted():
    body = json.dumps({"entity": "model_version", "action": "created", "timestamp": "2027-01-15T08:00:00+00:00",
                       "data": {"name": "fraud", "version": "3", "source": "s3://m/3", "run_id": None,
                                "tags": {}, "description": None}}).encode()
    delivery = verify(mlflow_headers(body), body, SECRET, now=NOW)
    assert (delivery.source, delivery.delivery_id) == ("mlflow", "6f1c")


def test_unsigned_delivery_is_refused_with_401():
    error = rejected({"content-type": "application/json"})
    assert error.status == 401 and "unsigned" in str(error)
    headers = mlflow_headers(BODY)
    del headers["x-mlflow-signature"]  # an MLflow webhook created without a secret
    error = rejected(headers)
    assert error.status == 401 and "secret" in str(error)


def test_wrong_secret_and_tampered_body_are_refused_with_401():
    assert rejected(lower(sign_plain("other", BODY, now=NOW))).status == 401
    assert rejected(mlflow_headers(BODY, secret="other")).status == 401
    tampered = BODY.replace(b"7", b"8")
    error = rejected(lower(sign_plain(SECRET, BODY, now=NOW)), body=tampered)
    assert error.status == 401 and "wrong signature" in str(error)
    assert rejected(mlflow_headers(BODY), body=tampered).status == 401


def test_signature_covers_timestamp_and_delivery_id():
    headers = lower(sign_plain(SECRET, BODY, now=NOW, delivery_id="d-1"))
    assert rejected({**headers, "x-modelwatch-timestamp": str(NOW + 1)}).status == 401
    assert rejected({**headers, "x-modelwatch-delivery-id": "d-2"}).status == 401
    assert rejected({**mlflow_headers(BODY), "x-mlflow-delivery-id": "other"}).status == 401


def test_malformed_signatures_are_refused_not_crashed_on():
    headers = lower(sign_plain(SECRET, BODY, now=NOW))
    for bad in ("sha256=zz", "md5=" + headers["x-modelwatch-signature"][7:], "nonsense"):
        assert rejected({**headers, "x-modelwatch-signature": bad}).status == 401
    mlflow = mlflow_headers(BODY)
    for bad in ("v1,@@@", "v2," + mlflow["x-mlflow-signature"][3:], "v1"):
        assert rejected({**mlflow, "x-mlflow-signature": bad}).status == 401


def test_stale_and_future_deliveries_are_refused_with_400():
    error = rejected(lower(sign_plain(SECRET, BODY, now=NOW - 301)))
    assert error.status == 400 and "stale" in str(error)
    assert rejected(mlflow_headers(BODY, timestamp=NOW + 400)).status == 400
    assert verify(mlflow_headers(BODY, timestamp=NOW - 299), BODY, SECRET, now=NOW).source == "mlflow"


def test_missing_timestamp_or_delivery_id_is_refused_with_400():
    headers = lower(sign_plain(SECRET, BODY, now=NOW))
    assert rejected({k: v for k, v in headers.items() if k != "x-modelwatch-timestamp"}).status == 400
    assert rejected({k: v for k, v in headers.items() if k != "x-modelwatch-delivery-id"}).status == 400
    assert rejected({**headers, "x-modelwatch-timestamp": "yesterday"}).status == 400


def test_hook_without_a_configured_secret_is_disabled():
    error = rejected(lower(sign_plain(SECRET, BODY, now=NOW)), secret=None)
    assert error.status == 403 and "MODELWATCH_WEBHOOK_SECRET" in str(error)


def test_bodies_are_validated_with_named_fields():
    assert parse("plain", BODY).version == "7"
    assert parse("plain", b'{"model": "fraud", "version": 7, "serving": false}').serving is False
    for body, field in ((b"[1]", "JSON object"), (b"{", "not JSON"), (b'{"version": "1"}', "model"),
                        (b'{"model": "fraud"}', "version"), (b'{"model": "fraud", "version": true}', "version"),
                        (b'{"model": "fraud", "version": "1", "stage": "prod"}', "unknown field")):
        with pytest.raises(HookRejected) as caught:
            parse("plain", body)
        assert caught.value.status == 400 and field in str(caught.value)
    alias = parse("mlflow", json.dumps({"entity": "model_version_alias", "action": "created",
                                        "data": {"name": "fraud-mlflow", "alias": "champion", "version": "2"}}).encode())
    assert (alias.event, alias.name, alias.alias, alias.version) == (MLFLOW_ALIAS_CREATED, "fraud-mlflow", "champion", "2")
    tag = parse("mlflow", json.dumps({"entity": "model_version_tag", "action": "set",
                                      "data": {"name": "m", "version": "1", "key": "k", "value": "v"}}).encode())
    assert tag.event == "model_version_tag.set" and tag.version is None
    with pytest.raises(HookRejected):
        parse("mlflow", b'{"entity": "model_version", "action": "created", "data": {"name": "m"}}')
