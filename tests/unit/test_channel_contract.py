"""The contract every alert channel keeps, run over the whole CHANNELS family.

For each registered channel: its settings model validates what the spec holds; against a real
local peer (an HTTP server on 127.0.0.1, an aiosmtpd SMTP server) a send is delivered and the
peer got it; against a failing peer (one that answers 503, or a closed port) it returns a failed
Delivery, retryable, and never raises; its secrets never reach the recorded detail. A channel
added without a peer below fails this test until it gets one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from pydantic import BaseModel

from monitor.alerts.channels import Channel, Delivery, build_channel
from monitor.plugins import CHANNELS
from tests.conftest import free_port

PAYLOAD = {
    "model": "churn", "version": "2", "run_id": "run1", "status": "firing",
    "window": {"start": "2031-05-04T11:00:00+00:00", "end": "2031-05-04T12:00:00+00:00"},
    "report_url": "http://mw.example/v1/runs/run1/report", "sent_at": "2031-05-04T12:00:05+00:00",
    "expires_at": "2031-05-04T12:15:05+00:00",
    "alerts": [{"alert_id": 1, "rule": "recall_drop", "kind": "performance_drop", "segment": "",
                "transition": "firing", "state": "firing", "severity": "critical",
                "message": "recall 0.45 is 50% below 0.9", "value": 0.45, "baseline": 0.9,
                "first_seen": "2031-05-04T12:00:04+00:00", "resolved_at": None, "acknowledged_by": None}],
}
SECRET = "S3CRET-in-the-settings"


@dataclass
class Peers:
    """The local receivers: ``http`` answers 200, ``broken`` answers 503, ``smtp`` accepts mail."""

    http: str
    broken: str
    smtp_port: int
    received: list[Any] = field(default_factory=list)


def _http_server(status: int, received: list[Any]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(("http", self.path, json.loads(body or b"null")))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def peers() -> Iterator[Peers]:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Mailbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            received.append(("smtp", envelope.rcpt_tos, envelope.content))
            return "250 OK"

    ok, broken = _http_server(200, received), _http_server(503, [])
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        yield Peers(f"http://127.0.0.1:{ok.server_port}", f"http://127.0.0.1:{broken.server_port}", smtp.port, received)
    finally:
        smtp.stop()
        ok.shutdown()
        broken.shutdown()


@dataclass(frozen=True)
class Contract:
    """How to point one channel at a working peer and at a failing one (None: it cannot fail)."""

    working: Callable[[Peers], dict[str, Any]]
    failing: Callable[[Peers], dict[str, Any]] | None
    secret_field: str | None = None


CONTRACTS: dict[str, Contract] = {
    "log": Contract(lambda p: {"level": "warning"}, None),
    "webhook": Contract(lambda p: {"url": f"{p.http}/hook", "secret": SECRET},
                        lambda p: {"url": f"{p.broken}/hook", "secret": SECRET}, "secret"),
    "slack": Contract(lambda p: {"url": f"{p.http}/services/{SECRET}"},
                      lambda p: {"url": f"http://127.0.0.1:{free_port()}/services/{SECRET}", "timeout": 2}, "url"),
    "alertmanager": Contract(lambda p: {"url": p.http}, lambda p: {"url": p.broken}),
    "email": Contract(lambda p: {"to": ["oncall@example.com"], "host": "127.0.0.1", "port": p.smtp_port},
                      lambda p: {"to": ["oncall@example.com"], "host": "127.0.0.1", "port": free_port(),
                                 "username": "mw", "password": SECRET, "timeout": 2}, "password"),
}


def test_every_channel_has_a_contract_here():
    assert sorted(CONTRACTS) == CHANNELS.names(), "add a Contract (its local peers) for each new channel"


@pytest.mark.parametrize("name", CHANNELS.names())
def test_the_channel_is_one_documented_class_with_its_settings_model(name):
    cls = CHANNELS.get(name)
    assert issubclass(cls, Channel) and cls.name == name and cls.__doc__.strip()
    config = CHANNELS.config_model(name)
    assert issubclass(config, BaseModel) and config.__doc__.strip()
    with pytest.raises(ValueError):
        config.model_validate({"no_such_setting": 1})  # settings are strict: a typo is an error


@pytest.mark.parametrize("name", CHANNELS.names())
def test_the_channel_delivers_to_a_working_peer(name, peers, caplog):
    contract = CONTRACTS[name]
    settings = CHANNELS.config_model(name).model_validate(contract.working(peers)).model_dump(by_alias=True)
    before = len(peers.received)
    with caplog.at_level(logging.INFO, logger="modelwatch.alerts"):
        delivery = build_channel(name, settings).send(PAYLOAD, idempotency_key="run1:1:" + name)
    assert isinstance(delivery, Delivery) and delivery.ok, delivery.detail
    got = peers.received[before:] or [r.getMessage() for r in caplog.records if r.name == "modelwatch.alerts"]
    assert got and "churn" in json.dumps(got, default=str), f"{name}: the peer received nothing about the model"


@pytest.mark.parametrize("name", CHANNELS.names())
def test_a_failing_peer_is_a_failed_delivery_never_an_exception(name, peers):
    contract = CONTRACTS[name]
    if contract.failing is None:
        pytest.skip(f"{name} has no peer that can fail")
    settings = CHANNELS.config_model(name).model_validate(contract.failing(peers)).model_dump(by_alias=True)
    delivery = build_channel(name, settings).send(PAYLOAD, idempotency_key="k")
    assert isinstance(delivery, Delivery) and not delivery.ok and delivery.retryable, delivery
    assert delivery.detail and SECRET not in delivery.detail
