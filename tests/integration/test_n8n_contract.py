"""n8n -> modelwatch, in the exact shape the example workflows' HTTP Request nodes send, against a
real ``modelwatch serve``: their URL templates rendered with the values n8n would have, the bearer
token as the ``httpHeaderAuth`` credential's header, the JSON body their ``jsonBody`` produces.

This covers the approval workflow's approve/cancel calls, which a real n8n cannot make here (they
sit behind a Slack "send and wait" node); test_n8n.py runs the other workflows in a real n8n.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from monitor.config import Settings
from monitor.db.migrate import upgrade
from tests.conftest import ROOT
from tests.support.api_server import serve
from tests.support.scenario import seed_fraud
from tests.support.stages import run_chain

pytestmark = pytest.mark.integration
WORKFLOWS = ROOT / "deploy/n8n"
TOKEN = "n8n-api-t0ken"
MODEL = "fraud"


def http_nodes(workflow: str) -> dict[str, dict]:
    nodes = json.loads((WORKFLOWS / workflow).read_text())["nodes"]
    return {n["name"]: n["parameters"] for n in nodes if n["type"] == "n8n-nodes-base.httpRequest"}


def render(template: str, values: dict[str, str]) -> str:
    """An n8n expression string (``={{ expr }}...``) with each ``{{ expr }}`` replaced by
    ``values[expr]``; an expression the test does not know fails it (the workflow changed)."""
    assert template.startswith("="), template
    return re.sub(r"\{\{\s*(.*?)\s*\}\}", lambda m: values[m.group(1)], template[1:])


def call(base: str, node: dict, values: dict[str, str], body: dict | None = None, token: str | None = TOKEN):
    """What n8n's HTTP Request node v4.2 sends: method, URL, the credential's header, a JSON body."""
    assert node["authentication"] == "genericCredentialType" and node["genericAuthType"] == "httpHeaderAuth"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if node.get("sendBody"):
        assert node["specifyBody"] == "json"
        headers["Content-Type"] = "application/json"
    url = render(node["url"], {"$env.MODELWATCH_URL": base, **values})
    return httpx.request(node["method"], url, headers=headers, content=json.dumps(body) if body else None,
                         timeout=10)


def _seed(settings: Settings) -> str:
    """A fraud model whose recall fell, with a 'notify' recovery that waits for approval; one check."""
    url = settings.effective_database_url
    upgrade(url)
    seed_fraud(url, [{"log": {}}], recall=0.4, rows=400, reference_rows=1500, seed=5,
               recovery={"recall_drop": {"action": "notify", "after": "1h", "approval": True}})
    return run_chain(settings, MODEL)


def test_the_workflows_calls_ack_approve_cancel_and_force_a_check_on_a_real_api(embedded_stack):
    _seed(embedded_stack.settings())
    approval = http_nodes("critical-alert-slack-approval.json")
    with serve(embedded_stack, {"MODELWATCH_API_TOKEN": TOKEN}) as base:
        model_value = {"encodeURIComponent($('modelwatch alert').first().json.body.model)": MODEL}

        # the approval workflow: list the model's actions, pick the one waiting, approve, then cancel
        listed = call(base, approval["Recovery actions of the model"], model_value)
        assert listed.status_code == 200, listed.text
        waiting = [a for a in listed.json() if a["state"] == "pending_approval"]
        assert len(waiting) == 1 and waiting[0]["rule"] == "recall_drop"
        chosen = {"$('Waiting for approval').item.json.id": str(waiting[0]["id"])}
        approved = call(base, approval["Approve in modelwatch"], chosen, {"reason": "approved in Slack via n8n"})
        assert approved.status_code == 200 and approved.json()["state"] == "scheduled", approved.text
        cancelled = call(base, approval["Cancel in modelwatch"], chosen, {"reason": "declined in Slack via n8n"})
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text
        again = call(base, approval["Approve in modelwatch"], chosen, {"reason": "late click"})
        assert again.status_code == 409  # n8n's node errors (and its workflow shows it) on a stale decision

        # the triage workflow acknowledges the alert
        alerts = httpx.get(f"{base}/v1/alerts", params={"open": "true"}, headers={"Authorization": f"Bearer {TOKEN}"},
                           timeout=10).json()
        alert_id = str(next(a["id"] for a in alerts if a["rule"] == "recall_drop"))
        ack = http_nodes("alert-triage-ack.json")["Acknowledge in modelwatch"]
        refused = call(base, ack, {"$json.alert_id": alert_id}, {"reason": "x"}, token="wrong")
        assert refused.status_code == 401
        acked = call(base, ack, {"$json.alert_id": alert_id}, {"reason": "triaged by n8n"})
        assert acked.status_code == 200 and acked.json()["state"] == "acknowledged", acked.text

        # the deploy workflow forces a check
        force = http_nodes("force-check-after-deploy.json")["Force a check"]
        forced = call(base, force, {"encodeURIComponent($json.body.model)": MODEL})
        assert forced.status_code == 202 and forced.json()["run_id"], forced.text

        trail = httpx.get(f"{base}/v1/audit", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    decisions = {(e["action"], e["reason"]) for e in trail if e["actor"].endswith("admin")}
    assert {("approve", "approved in Slack via n8n"), ("cancel", "declined in Slack via n8n")} <= decisions, trail
