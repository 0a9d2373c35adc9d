"""Both directions through a real n8n running the example workflows of deploy/n8n:

CI's "deployed" call -> n8n's force-check workflow -> ``POST /v1/models/fraud/checks`` (bearer
token) -> a worker's check fires a recall alert -> the webhook channel posts it to n8n's Webhook
trigger with the Header Auth header from the worker's environment -> n8n's triage workflow
acknowledges the alert through ``POST /v1/alerts/{id}/ack``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import json
import subprocess

import httpx
import pytest
from sqlalchemy import select

from monitor.db.migrate import upgrade
from monitor.db.schema import Alert, AuditEvent, Notification
from tests.conftest import session, wait_for
from tests.support.api_server import serve
from tests.support.n8n_server import N8N_DIR, NODE, WORKFLOWS as WORKFLOW_DIR, N8n, installed, n8n  # noqa: F401
from tests.support.scenario import seed_fraud

pytestmark = pytest.mark.integration
MODEL = "fraud"
API_TOKEN = "n8n-api-t0ken"
HOOK_SECRET = "n8n-hook-s3cret"
# The credentials the workflows name (by id), as an n8n admin would create them.
CREDENTIALS = [
    {"id": "mwAlertHook01", "name": "modelwatch alerts (header auth)", "type": "httpHeaderAuth",
     "data": {"name": "X-Modelwatch-Auth", "value": HOOK_SECRET}},
    {"id": "mwApiToken001", "name": "modelwatch API token", "type": "httpHeaderAuth",
     "data": {"name": "Authorization", "value": f"Bearer {API_TOKEN}"}},
]
WORKFLOWS = ["alert-triage-ack.json", "force-check-after-deploy.json", "critical-alert-slack-approval.json"]


def test_every_example_workflow_passes_validation_with_n8ns_own_packages():
    """Node types and versions, parameter names, credential types and connections, checked by
    tests/n8n/validate.js with n8n-workflow and n8n-nodes-base (covers the Slack workflow, which
    the round trip below imports and activates but cannot run without Slack)."""
    installed()
    files = sorted(WORKFLOW_DIR.glob("*.json"))
    result = subprocess.run([str(NODE), "validate.js", *map(str, files)], cwd=N8N_DIR, capture_output=True,
                            text=True, timeout=120)
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, reports or result.stderr
    assert sorted(r["file"] for r in reports) == sorted(WORKFLOWS) == sorted(f.name for f in files)
    assert all(r["problems"] == [] and r["triggers"] for r in reports)


def _seed(url: str, alert_url: str) -> None:
    """The fraud model alerting to n8n, and a served window whose recall fell to ~0.4."""
    upgrade(url)
    seed_fraud(url, [{"webhook": {"url": alert_url, "auth": {"header": "X-Modelwatch-Auth", "env": "N8N_WEBHOOK_AUTH"}}}],
               recall=0.4, rows=400, reference_rows=1500, seed=7)


def _acknowledged(url: str) -> Alert | None:
    with session(url) as s:
        return s.scalar(select(Alert).where(Alert.rule == "recall_drop", Alert.state == "acknowledged"))


def test_n8n_forces_a_check_receives_its_alert_with_header_auth_and_acknowledges_it(embedded_stack, n8n: N8n):
    url = embedded_stack.database_url
    with serve(embedded_stack, {"MODELWATCH_API_TOKEN": API_TOKEN}) as api, ThreadPoolExecutor(1) as background:
        prepared = background.submit(n8n.prepare, CREDENTIALS, WORKFLOWS)  # n8n's CLI is slow: overlap it
        _seed(url, n8n.webhook("modelwatch-alerts"))
        embedded_stack.worker(extra_env={"N8N_WEBHOOK_AUTH": HOOK_SECRET})
        prepared.result()
        n8n.start(["modelwatch-alerts", "modelwatch-deployed", "modelwatch-critical"], {"MODELWATCH_URL": api})
        _round_trip(url, n8n)


def _round_trip(url: str, n8n: N8n) -> None:
    """CI tells n8n of a deploy; n8n forces the check; its alert comes back to n8n, which acknowledges it."""
    wrong = httpx.post(n8n.webhook("modelwatch-deployed"), json={"model": MODEL},
                       headers={"X-Modelwatch-Auth": "guess"}, timeout=10)
    assert wrong.status_code == 403  # n8n's Header Auth refuses a wrong value
    deployed = httpx.post(n8n.webhook("modelwatch-deployed"), json={"model": MODEL},
                          headers={"X-Modelwatch-Auth": HOOK_SECRET}, timeout=10)
    assert deployed.status_code == 200, deployed.text

    alert = wait_for(lambda: _acknowledged(url), 120, "n8n to acknowledge the alert its forced check fired")
    with session(url) as s:
        sent = s.scalars(select(Notification).where(Notification.channel.like("%webhook"))).all()
        trail = s.scalars(select(AuditEvent).where(AuditEvent.subject == f"alert:{alert.id}")).all()
    assert [(n.state, n.attempts) for n in sent] == [("sent", 1)]  # n8n answered the first delivery
    assert [(e.actor, e.action) for e in trail] == [("token:admin", "acknowledge")], n8n.logs()
    assert trail[0].reason.startswith("triaged by n8n: recall_drop (") and trail[0].reason.endswith(f"on {MODEL}")
