"""The webhook channel's auth header (n8n's Header Auth): its value comes from the worker's
environment, never from the spec, is sent verbatim, and never reaches a log line."""

from __future__ import annotations

import pytest

from frontdoors.demo.receiver import WebhookReceiver
from monitor.alerts.channels import build_channel
from monitor.errors import SpecError
from monitor.spec import parse_spec

PAYLOAD = {"model": "churn", "run_id": "run1", "status": "firing", "alerts": []}
AUTH = {"header": "X-Modelwatch-Auth", "env": "MW_TEST_N8N_AUTH"}


def spec_with(webhook: dict):
    return parse_spec({"models": [{"name": "churn", "task": "binary_classification", "window": "1h",
                                   "columns": {"numeric": ["x"]}, "alerts": [{"webhook": webhook}]}]})[0]


def test_the_header_carries_the_environment_variables_value(monkeypatch):
    monkeypatch.setenv("MW_TEST_N8N_AUTH", "n8n-shared-s3cret")
    with WebhookReceiver() as hook:
        channel = spec_with({"url": hook.url, "auth": AUTH}).alerts[0]
        outcome = build_channel(channel.type, channel.config).send(PAYLOAD, idempotency_key="k1")
    assert outcome.ok, outcome.detail
    assert hook.headers[0]["X-Modelwatch-Auth"] == "n8n-shared-s3cret"
    assert hook.received == [PAYLOAD]


def test_the_spec_holds_the_variables_name_never_its_value(monkeypatch):
    monkeypatch.setenv("MW_TEST_N8N_AUTH", "n8n-shared-s3cret")
    channel = spec_with({"url": "https://n8n.example/webhook/x", "auth": AUTH}).alerts[0]
    assert "n8n-shared-s3cret" not in repr(channel.config) and channel.config["auth"] == AUTH


def test_an_unset_variable_fails_the_delivery_for_good_naming_the_variable(monkeypatch):
    monkeypatch.delenv("MW_TEST_N8N_AUTH", raising=False)
    with WebhookReceiver() as hook:
        outcome = build_channel("webhook", {"url": hook.url, "auth": AUTH}).send(PAYLOAD, idempotency_key="k1")
    assert not outcome.ok and not outcome.retryable
    assert "MW_TEST_N8N_AUTH" in outcome.detail and "X-Modelwatch-Auth" in outcome.detail
    assert hook.received == []  # nothing goes out unauthenticated


def test_the_value_is_redacted_like_the_channels_other_secrets(monkeypatch):
    monkeypatch.setenv("MW_TEST_N8N_AUTH", "n8n-shared-s3cret")
    channel = build_channel("webhook", {"url": "https://n8n.example/webhook/x", "secret": "hmac-key", "auth": AUTH})
    assert channel.redact("sent n8n-shared-s3cret and hmac-key") == "sent *** and ***"


@pytest.mark.parametrize("auth, complaint", [
    ({"header": "X-Auth", "env": "TOKEN", "value": "clear"}, "never from the spec"),
    ({"header": "X Auth", "env": "TOKEN"}, "not a valid HTTP header name"),
    ({"header": "Content-Type", "env": "TOKEN"}, "sets itself"),
    ({"header": "webhook-signature", "env": "TOKEN"}, "sets itself"),
    ({"header": "X-Auth", "env": "1TOKEN"}, "not an environment variable name"),
    ({"header": "X-Auth"}, "env"),
])
def test_a_bad_auth_is_refused_when_the_spec_is_parsed_saying_what_is_wrong(auth, complaint):
    with pytest.raises(SpecError, match=complaint):
        spec_with({"url": "https://n8n.example/webhook/x", "auth": auth})
