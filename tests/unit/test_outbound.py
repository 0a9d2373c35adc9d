"""The outbound guard (issue 12, finding 7): refused at apply, refused at send, allowed when configured.

These tests clear the session-wide ``MODELWATCH_OUTBOUND_ALLOW_PRIVATE`` (tests/conftest.py) to
see the default policy, and use real loopback receivers: a refused destination must receive
nothing at all.
"""

from __future__ import annotations

import socket
from ipaddress import ip_address
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import monitor.config
from frontdoors.cli.main import main
from frontdoors.demo.receiver import WebhookReceiver
from monitor import outbound
from monitor.alerts.channels.alertmanager import AlertmanagerChannel
from monitor.alerts.channels.email import EmailChannel, EmailConfig
from monitor.alerts.channels.slack import SlackChannel
from monitor.alerts.channels.webhook import WebhookChannel
from monitor.outbound import OutboundRefused, Policy
from monitor.service.probes import probe
from monitor.spec import parse_spec

PAYLOAD = {"model": "fraud", "run_id": 1, "alerts": [], "sent_at": "2026-01-01T00:00:00Z",
           "expires_at": "2026-01-01T00:10:00Z"}


@pytest.fixture
def default_policy(monkeypatch):
    """The policy an installation has when its operator set nothing."""
    monkeypatch.delenv("MODELWATCH_OUTBOUND_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("MODELWATCH_OUTBOUND_ALLOW", raising=False)
    monitor.config.get_settings.cache_clear()
    yield
    monitor.config.get_settings.cache_clear()


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"),
    ("10.1.2.3", "a private address"), ("172.16.0.1", "a private address"), ("192.168.1.1", "a private address"),
    ("fd12:3456::1", "a private address"), ("fe80::1", "a link-local address"),
    ("169.254.169.254", "a link-local address (the cloud metadata service)"),
    ("169.254.10.10", "a link-local address"), ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"), ("224.0.0.1", "a multicast address"), ("240.0.0.1", "a private address"),
    ("::ffff:127.0.0.1", "a loopback address"), ("100.64.0.1", "an address that is not globally routable"),
    ("93.184.216.34", None), ("2606:4700::1111", None),
])
def test_every_non_public_address_is_named(address, reason):
    assert outbound.describe(ip_address(address)) == reason


def test_the_allow_list_opens_networks_and_hosts_and_allow_private_all_but_metadata():
    listed = Policy.parse("10.0.0.0/8, alertmanager.internal, *.corp.example, 169.254.169.254")
    assert listed.refusal(ip_address("10.9.9.9")) is None
    assert listed.refusal(ip_address("192.168.0.1")) == "a private address"
    assert listed.refusal(ip_address("169.254.169.254")) is None
    assert listed.host_allowed("AlertManager.internal") and listed.host_allowed("hooks.corp.example")
    assert not listed.host_allowed("corp.example.evil.test")

    private = Policy.parse("", allow_private=True)
    assert private.refusal(ip_address("127.0.0.1")) is None and private.refusal(ip_address("fd00::1")) is None
    assert private.refusal(ip_address("169.254.169.254")) == "a link-local address (the cloud metadata service)"


def _spec(**blocks):
    model = {"name": "fraud", "task": "binary_classification", "every": "1h", "window": "1h", **blocks}
    return parse_spec({"models": [model]})[0]


def test_apply_time_problems_name_the_model_the_field_and_the_address(default_policy):
    spec = _spec(alerts=[{"webhook": "http://169.254.169.254/latest/meta-data/"},
                         {"slack": "https://hooks.slack.com/services/T0/B0/secret"},
                         {"alertmanager": "http://10.0.0.5:9093"},
                         {"email": {"to": "oncall@example.com", "host": "localhost"}}],
                 service={"health_url": "http://127.0.0.1:9000/admin"},
                 registry={"kind": "mlflow", "tracking_uri": "http://[::1]:5000"})

    problems = outbound.spec_problems(spec)

    assert len(problems) == 5, problems
    joined = "\n".join(problems)
    for expected in ('model "fraud", field alerts[0].webhook.url: 169.254.169.254 a link-local address '
                     '(the cloud metadata service)',
                     "field alerts[2].alertmanager.url: 10.0.0.5 a private address",
                     "field alerts[3].email.host: localhost resolves to", "field service.health_url: 127.0.0.1 a "
                     "loopback address", "field registry.tracking_uri: ::1 a loopback address",
                     "MODELWATCH_OUTBOUND_ALLOW"):
        assert expected in joined
    assert "secret" not in joined  # a Slack URL is its credential; only a refused host is named
    assert outbound.spec_problems(spec, Policy.parse("", allow_private=True)) == \
        [problems[0]]  # metadata stays closed under allow_private


def test_cli_apply_refuses_a_private_destination_and_stores_nothing(default_policy, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"models": [{
        "name": "fraud", "task": "binary_classification", "every": "1h", "window": "1h",
        "alerts": [{"webhook": "http://169.254.169.254/hook"}]}]}))

    refused = CliRunner().invoke(main, ["apply", "-f", str(path)])
    assert refused.exit_code == 2, refused.output
    assert "alerts[0].webhook.url: 169.254.169.254 a link-local address" in refused.output
    assert "Traceback" not in refused.output
    listed = CliRunner().invoke(main, ["status", "--json"])
    assert "fraud" not in listed.output

    monkeypatch.setenv("MODELWATCH_OUTBOUND_ALLOW", "169.254.169.254")
    monitor.config.get_settings.cache_clear()
    allowed = CliRunner().invoke(main, ["apply", "-f", str(path)])
    assert allowed.exit_code == 0 and "registered fraud" in allowed.output, allowed.output


@pytest.mark.parametrize("make", [
    lambda url: WebhookChannel(url), lambda url: SlackChannel(url), lambda url: AlertmanagerChannel(url)])
def test_every_http_channel_refuses_loopback_at_send_and_sends_once_allowed(default_policy, monkeypatch, make):
    with WebhookReceiver() as receiver:
        url = receiver.url.removesuffix("/alerts")
        refused = make(url).send(PAYLOAD, idempotency_key="k1")
        assert (refused.ok, refused.retryable) == (False, False)
        assert "127.0.0.1 a loopback address" in refused.detail and receiver.received == []

        monkeypatch.setenv("MODELWATCH_OUTBOUND_ALLOW", "127.0.0.1/32")
        monitor.config.get_settings.cache_clear()
        assert make(url).send(PAYLOAD, idempotency_key="k1").ok
        assert len(receiver.received) == 1


def test_email_refuses_a_loopback_relay_before_connecting(default_policy):
    with socket.socket() as listener:  # a relay that would accept the connection
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        config = EmailConfig.model_validate({"to": "oncall@example.com", "host": "127.0.0.1",
                                             "port": listener.getsockname()[1], "timeout": 1})
        delivery = EmailChannel(config).send(PAYLOAD, idempotency_key="k1")
        assert (delivery.ok, delivery.retryable) == (False, False)
        assert "email host: 127.0.0.1 a loopback address" in delivery.detail
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody connected


def test_a_probe_of_a_refused_health_url_is_down_and_never_polls(default_policy):
    with WebhookReceiver() as receiver:
        outcome = probe(receiver.url, timeout=1)
    assert not outcome.ok and outcome.status_code is None
    assert "service.health_url: 127.0.0.1 a loopback address" in outcome.error


def test_send_connects_to_the_address_it_checked_not_a_second_lookup(monkeypatch):
    """A name checked once is never looked up again by httpx: the request reaches the checked
    address even for a name only the guard can resolve, and a rebinding to loopback is refused."""
    answers = {"hooks.example.test": "127.0.0.1"}
    real = socket.getaddrinfo

    def fake_dns(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", fake_dns)
    with WebhookReceiver() as receiver:
        port = receiver.server.server_address[1]
        with outbound.http_client("webhook url", 2, Policy.parse("127.0.0.1/32")) as client:
            assert client.post(f"http://hooks.example.test:{port}/alerts", json={"n": 1}).status_code == 200
        assert receiver.headers[0]["Host"] == f"hooks.example.test:{port}"

        with outbound.http_client("webhook url", 2, Policy.parse("")) as client:
            with pytest.raises(OutboundRefused, match="hooks.example.test resolves to 127.0.0.1, a loopback"):
                client.post(f"http://hooks.example.test:{port}/alerts", json={"n": 2})
        assert len(receiver.received) == 1


def test_the_test_session_allows_loopback_for_every_other_test():
    assert monitor.config.get_settings().outbound_allow_private is True
    assert Path(__file__).name == "test_outbound.py"
