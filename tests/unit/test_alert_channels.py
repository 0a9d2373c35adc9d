"""Each alert channel's payload, against real local peers: an HTTP receiver, an SMTP server
(aiosmtpd) and a Prometheus Alertmanager (the Debian binary when installed, else a receiver that
checks the API v2 schema). Plus the pure rules of notification planning and retry backoff."""

from __future__ import annotations

import base64
import datetime as dt
import email
import json
import random
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from monitor.alerts import delivery, messages, notify
from monitor.alerts.channels import build_channel
from monitor.alerts.channels.alertmanager import alerts_body
from monitor.alerts.channels.slack import message as slack_message
from monitor.alerts.channels.webhook import sign, verify
from frontdoors.demo.receiver import WebhookReceiver
from monitor.spec import parse_spec
from tests.conftest import free_port, wait_for

NOW = dt.datetime(2031, 5, 4, 12, 0, tzinfo=dt.timezone.utc)
PAYLOAD = {
    "model": "churn", "version": "2", "run_id": "run1", "status": "firing",
    "window": {"start": "2031-05-04T11:00:00+00:00", "end": "2031-05-04T12:00:00+00:00"},
    "report_url": "http://mw.example/v1/runs/run1/report", "sent_at": "2031-05-04T12:00:05+00:00",
    "expires_at": "2031-05-04T12:15:05+00:00",
    "alerts": [
        {"alert_id": 1, "rule": "recall_drop", "kind": "performance_drop", "segment": "", "transition": "firing",
         "state": "firing", "severity": "critical", "message": "recall 0.45 is 50% below 0.9", "value": 0.45,
         "baseline": 0.9, "first_seen": "2031-05-04T12:00:04+00:00", "resolved_at": None, "acknowledged_by": None},
        {"alert_id": 2, "rule": "data_drift", "kind": "data_drift", "segment": "web", "transition": "resolved",
         "state": "resolved", "severity": "warning", "message": "resolved: no drift", "value": 0.01,
         "baseline": None, "first_seen": "2031-05-04T10:00:00+00:00",
         "resolved_at": "2031-05-04T12:00:04+00:00", "acknowledged_by": None},
    ],
}


# --- webhook ---------------------------------------------------------------------------------

def test_webhook_signs_with_standard_webhooks_and_a_receiver_can_verify():
    with WebhookReceiver() as hook:
        outcome = build_channel("webhook", {"url": hook.url, "secret": "s3cret"}).send(PAYLOAD, idempotency_key="k1")
        assert outcome.ok and outcome.http_status == 200
        [received], [headers] = hook.received, hook.headers
    assert received == PAYLOAD and headers["Idempotency-Key"] == "k1"
    body = json.dumps(received, default=str, sort_keys=True).encode()
    timestamp, signature = headers["webhook-timestamp"], headers["webhook-signature"]
    assert headers["webhook-id"] == "k1" and signature.startswith("v1,")
    assert signature == sign("s3cret", body, timestamp, "k1")
    assert verify("s3cret", body, headers)
    assert not verify("wrong", body, headers)
    assert not verify("s3cret", body + b" ", headers)
    assert not verify("s3cret", body, headers | {"webhook-id": "k2"})
    assert not verify("s3cret", body, headers, now=int(timestamp) + 301)  # a replay, later


def test_webhook_signature_verifies_with_the_standard_webhooks_library():
    from standardwebhooks.webhooks import Webhook

    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    with WebhookReceiver() as hook:
        assert build_channel("webhook", {"url": hook.url, "secret": secret}).send(PAYLOAD, idempotency_key="n-7").ok
        [headers] = hook.headers
    body = json.dumps(PAYLOAD, default=str, sort_keys=True).encode()
    assert Webhook(secret).verify(body, dict(headers)) == json.loads(body)


def test_webhook_failures_say_whether_to_retry():
    with WebhookReceiver(status=503) as busy, WebhookReceiver(status=400) as bad:
        assert build_channel("webhook", {"url": busy.url}).send(PAYLOAD, idempotency_key="k").retryable
        refused = build_channel("webhook", {"url": bad.url}).send(PAYLOAD, idempotency_key="k")
    assert not refused.ok and not refused.retryable and refused.http_status == 400
    closed = build_channel("webhook", {"url": f"http://127.0.0.1:{free_port()}/x"}).send(PAYLOAD, idempotency_key="k")
    assert not closed.ok and closed.retryable and closed.http_status is None


# --- slack -----------------------------------------------------------------------------------

def test_slack_message_is_readable_model_changes_numbers_and_report_link():
    text = json.dumps(slack_message(PAYLOAD))
    body = slack_message(PAYLOAD)
    assert body["text"] == "[modelwatch] churn: 1 firing, 1 resolved"
    section = body["blocks"][1]["text"]["text"]
    assert "FIRING recall_drop [critical]" in section and "value 0.45, baseline 0.9" in section
    assert "RESOLVED data_drift [warning] segment=web" in section
    assert "<http://mw.example/v1/runs/run1/report|report>" in text


class _EchoingServer:
    """An HTTP peer that answers 404 with the path it was asked for (as some proxies do)."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = f"no such hook: http://127.0.0.1:{self.server.server_address[1]}{self.path}".encode()
                self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/SECRETTOKEN"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_slack_posts_the_message_and_never_records_its_url():
    with WebhookReceiver() as hook:
        assert build_channel("slack", {"url": hook.url}).send(PAYLOAD, idempotency_key="k").ok
        assert hook.received == [slack_message(PAYLOAD)]
    peer = _EchoingServer()
    try:
        spec = parse_spec({"name": "churn", "task": "regression", "alerts": [{"slack": peer.url}]})[0]
        outcome = delivery.send(spec, SimpleNamespace(channel="0:slack", payload=PAYLOAD, dedup_key="k"))
    finally:
        peer.close()
    assert not outcome.ok and outcome.http_status == 404 and "no such hook" in outcome.detail
    assert "SECRETTOKEN" not in outcome.detail and "***" in outcome.detail


# --- email -----------------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mw" and auth_data.password == b"pa55word"
        return AuthResult(success=ok, handled=False)

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        yield SimpleNamespace(host="127.0.0.1", port=controller.port, messages=handler.messages)
    finally:
        controller.stop()


def test_email_goes_through_a_real_smtp_server_with_login(smtp_server):
    config = {"to": ["oncall@example.com", "ml@example.com"], "from": "mw@example.com", "host": smtp_server.host,
              "port": smtp_server.port, "username": "mw", "password": "pa55word"}
    outcome = build_channel("email", config).send(PAYLOAD, idempotency_key="run1:1:email")
    assert outcome.ok, outcome.detail
    [(sender, recipients, raw)] = smtp_server.messages
    assert sender == "mw@example.com" and recipients == ["oncall@example.com", "ml@example.com"]
    mail = email.message_from_bytes(raw)
    assert mail["Subject"] == "[modelwatch] churn: 1 firing, 1 resolved"
    text = mail.get_payload(decode=True).decode()
    assert "FIRING recall_drop [critical]" in text and "report: http://mw.example/v1/runs/run1/report" in text
    again = build_channel("email", config).send(PAYLOAD, idempotency_key="run1:1:email")
    assert again.ok and email.message_from_bytes(smtp_server.messages[1][2])["Message-ID"] == mail["Message-ID"]


def test_email_with_wrong_password_fails_for_good_and_hides_the_password(smtp_server):
    config = {"to": "oncall@example.com", "host": smtp_server.host, "port": smtp_server.port,
              "username": "mw", "password": "not-the-pa55word"}
    outcome = build_channel("email", config).send(PAYLOAD, idempotency_key="k")
    assert not outcome.ok and not outcome.retryable and outcome.detail.startswith("SMTP 535")
    assert "not-the-pa55word" not in outcome.detail and smtp_server.messages == []
    down = build_channel("email", {"to": "a@b.c", "host": "127.0.0.1", "port": free_port(), "timeout": 2})
    assert down.send(PAYLOAD, idempotency_key="k").retryable


# --- alertmanager ----------------------------------------------------------------------------

def _binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.fixture
def alertmanager():
    """A real Alertmanager on a free port (no cluster), or None when the binary is not installed."""
    binary = _binary()
    if binary is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="mw-am-"))
    (folder / "am.yml").write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    port = free_port()
    process = subprocess.Popen([binary, f"--config.file={folder / 'am.yml'}", f"--storage.path={folder}",
                                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), 20, "alertmanager to be ready")
        yield url
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _check_postable_alerts(body: list) -> None:
    """Alertmanager API v2 ``postableAlerts``: labels required (string map), the rest optional."""
    assert isinstance(body, list) and body
    for alert in body:
        assert set(alert) <= {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
        assert alert["labels"] and all(isinstance(k, str) and isinstance(v, str) and v
                                       for k, v in alert["labels"].items())
        assert all(isinstance(v, str) for v in alert["annotations"].values())
        for key in ("startsAt", "endsAt"):
            dt.datetime.fromisoformat(alert[key])


def test_alertmanager_payload_labels_and_end_times():
    firing, resolved = alerts_body(PAYLOAD, {"team": "ml"})
    _check_postable_alerts([firing, resolved])
    assert firing["labels"] == {"alertname": "recall_drop", "model": "churn", "severity": "critical",
                                "kind": "performance_drop", "service": "modelwatch", "team": "ml"}
    assert firing["endsAt"] == PAYLOAD["expires_at"]  # kept alive by the next check's re-send
    assert resolved["labels"]["segment"] == "web" and resolved["endsAt"] == "2031-05-04T12:00:04+00:00"


def test_alertmanager_accepts_the_alerts(alertmanager):
    payload = {**PAYLOAD, "sent_at": dt.datetime.now(dt.timezone.utc).isoformat(),
               "expires_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15)).isoformat()}
    payload["alerts"] = [{**PAYLOAD["alerts"][0], "first_seen": dt.datetime.now(dt.timezone.utc).isoformat()}]
    if alertmanager is None:  # no binary: a local receiver checks the schema instead
        with WebhookReceiver() as peer:
            base = peer.url.rsplit("/", 1)[0]
            assert build_channel("alertmanager", {"url": base}).send(payload, idempotency_key="k").ok
            _check_postable_alerts(peer.received[0])
        return
    outcome = build_channel("alertmanager", {"url": alertmanager}).send(payload, idempotency_key="k")
    assert outcome.ok and outcome.http_status == 200, outcome.detail
    live = wait_for(lambda: httpx.get(f"{alertmanager}/api/v2/alerts").json(), 10, "the alert in Alertmanager")
    assert [(a["labels"]["alertname"], a["labels"]["model"], a["status"]["state"]) for a in live] == [
        ("recall_drop", "churn", "active")]


# --- planning rules and backoff --------------------------------------------------------------

def _alert(state: str) -> SimpleNamespace:
    return SimpleNamespace(state=state)


def test_decide_the_transition_a_channel_gets():
    heard_now = notify.Heard(NOW, True)
    heard_long_ago = notify.Heard(NOW - dt.timedelta(hours=5), True)
    decide = lambda alert, resolved=False, heard=None, silenced=False, resend=False: notify.decide(  # noqa: E731
        alert, resolved, heard, silenced=silenced, resend_while_open=resend, repeat_interval=4 * 3600, now=NOW)
    assert decide(_alert("firing")) == "firing"
    assert decide(_alert("firing"), heard=heard_now) is None
    assert decide(_alert("firing"), heard=heard_long_ago) == "repeat"
    assert decide(_alert("acknowledged"), heard=heard_long_ago) is None
    assert decide(_alert("acknowledged")) is None  # acknowledged while silenced: someone has it already
    assert decide(_alert("firing"), silenced=True) is None
    assert decide(_alert("resolved"), resolved=True, heard=heard_now) == "resolved"
    assert decide(_alert("resolved"), resolved=True) is None
    assert decide(_alert("resolved"), resolved=True, heard=notify.Heard(NOW, False)) is None
    assert decide(_alert("acknowledged"), heard=heard_now, resend=True) == "repeat"


def test_backoff_doubles_with_jitter_and_a_cap():
    rng = random.Random(7)
    for attempt in range(1, 12):
        value = delivery.backoff(attempt, 2.0, rng)
        nominal = min(delivery.MAX_BACKOFF, 2.0 * 2 ** (attempt - 1))
        assert 0.5 * nominal <= value <= 1.5 * nominal


def test_headline_counts_firing_and_resolved():
    assert messages.headline(PAYLOAD) == "[modelwatch] churn: 1 firing, 1 resolved"
    assert messages.counts({"alerts": [{"transition": "repeat"}]}) == {"firing": 1, "resolved": 0}


# --- silence matching ------------------------------------------------------------------------

def test_a_silence_matches_only_when_every_matcher_it_sets_agrees_and_it_is_in_force():
    from monitor.alerts.silences import matches
    from monitor.db.schema import Silence

    alert = SimpleNamespace(rule="psi_region", kind="data_drift", severity="warning")
    window = {"starts_at": NOW - dt.timedelta(hours=1), "ends_at": NOW + dt.timedelta(hours=1)}
    silence = lambda **m: Silence(**window, **m)  # noqa: E731
    assert matches(silence(model="churn"), "churn", alert, NOW)
    assert matches(silence(rule="data_drift", severity="warning"), "churn", alert, NOW)  # kind matches
    assert matches(silence(rule="psi_region"), "churn", alert, NOW)
    assert not matches(silence(model="fraud"), "churn", alert, NOW)
    assert not matches(silence(model="churn", severity="critical"), "churn", alert, NOW)
    assert not matches(silence(rule="recall_drop"), "churn", alert, NOW)
    assert not matches(silence(model="churn"), "churn", alert, NOW + dt.timedelta(hours=1))  # ended
    assert not matches(silence(model="churn"), "churn", alert, NOW - dt.timedelta(hours=2))  # not started
