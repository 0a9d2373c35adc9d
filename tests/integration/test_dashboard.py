"""The React dashboard in a real browser (Debian's Chromium driven by Playwright) against a real
`modelwatch serve` process, over a database filled by real check chains.

One button test intercepts the acknowledge / approve / cancel calls with ``page.route`` to check
what the page sends and how it shows answers (including a refusal); the end-to-end ones click
through to the real endpoints, on their own database and server, and check the database, the
audit trail and the page. Live updates, accessibility and the 1,000-model overview are in
test_dashboard_live.py. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from monitor.config import Settings
from tests.conftest import ARTIFACTS
from tests.support.dashboard_browser import (  # noqa: F401 (fixtures)
    ADMIN, READER, browser, page, real_problems, served, sign_in, writable)
from tests.support.dashboard_data import EVIL_FEATURE, EVIL_VALUE, HEALTHY_CHECKS, MODEL, Populated, populate

pytestmark = pytest.mark.integration

SCREENS = [(1366, 768), (1920, 1080)]
CHECKS = HEALTHY_CHECKS + 2


def test_login_flow_guards_every_page_and_a_read_token_gets_no_buttons(page, served):
    base = served["base"]
    page.goto(f"{base}/models/{MODEL}")
    assert page.url == f"{base}/login?next=%2Fmodels%2F{MODEL}"
    page.fill("#token", "wrong")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("p.error")
    assert page.locator("p.error").inner_text() == "That token is not valid."
    page.fill("#token", READER)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/models/{MODEL}")
    page.wait_for_selector("#alerts tbody tr")
    assert "token:reader (read-only)" in page.locator("header.top .who").inner_text()
    assert page.locator(".act button").count() == 0 and page.locator("text=read-only").count() > 1
    cookie = next(c for c in page.context.cookies() if c["name"] == "modelwatch_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read the token
    page.click("text=Sign out")
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/alerts")
    assert page.url.startswith(f"{base}/login?next=")
    assert real_problems(page) == [] or all("401" in p for p in real_problems(page)), page.problems


def test_pages_load_cleanly_and_draw_their_charts(page, served):
    base = served["base"]
    sign_in(page, base)
    ARTIFACTS.mkdir(exist_ok=True)
    ready = {"overview": "li.tile", "model": "figure.chart canvas", "alerts": "#open tbody tr"}
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (("overview", "/"), ("model", f"/models/{MODEL}"), ("alerts", "/alerts")):
            response = page.goto(f"{base}{path}")
            assert response.status == 200, path
            page.wait_for_selector(ready[name])
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{width}x{height}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}x{height}"
    assert real_problems(page) == [], page.problems

    page.goto(f"{base}/")
    # text_content, not inner_text: off-screen tiles skip rendering (content-visibility: auto)
    tile = page.locator(f"li.tile[data-model='{MODEL}']")
    assert tile.locator(".badge").first.text_content() == "critical"
    assert "recall" in tile.text_content() and "open alerts" in tile.text_content()
    assert "1 awaiting approval" in tile.text_content()
    assert page.locator("li.tile[data-model='idle'] .badge").text_content() == "unchecked"
    assert page.locator("table.groups tbody tr").count() >= 2  # open alerts by cause

    page.goto(f"{base}/models/{MODEL}")
    page.wait_for_selector("figure.chart canvas")
    performance = page.locator("figure.chart[data-title='Model performance'] .plot")
    label = performance.get_attribute("aria-label")
    for kpi in ("accuracy", "precision", "recall", "f1"):
        assert f"{kpi}: {CHECKS} points" in label, label
    assert "threshold" in label  # the recall rule's threshold
    latency = page.locator("figure.chart[data-title='Latency'] .plot").get_attribute("aria-label")
    assert "latency_p95_ms" in latency and "threshold 250 ms" in latency and "anomal" in latency, latency
    assert page.locator("figure.chart[data-title='Latency'] .u-legend").inner_text().count("ms") >= 3  # unit-aware
    assert page.locator("#alerts tbody tr").count() >= 3
    assert page.locator("#drift table.drift-history td.drifted").count() >= 1  # drift over time
    assert page.locator("#kpis .tile.breached").count() >= 2  # recall and p95 latency
    assert page.locator("#quality tbody tr").count() >= 1
    page.wait_for_selector("#drift figure.dist")  # the drifted feature's reference vs window distribution
    assert EVIL_FEATURE in page.locator("#drift figure.dist figcaption").first.text_content()
    assert page.locator("#runs a[href$='/report']").count() == CHECKS
    assert page.locator("#audit tbody tr").count() == 2
    assert page.locator("ul.annotations li[data-kind=deploy]").count() >= 1

    # the range buttons re-read the history; a run page links to its report
    page.click("#history button:has-text('6h')")
    page.wait_for_selector("#history button[aria-pressed=true]:has-text('6h')")
    page.locator("#runs tbody tr a").first.click()
    page.wait_for_selector("a:has-text('Open the HTML report')")
    report = page.locator("a:has-text('Open the HTML report')").get_attribute("href")
    assert httpx.get(f"{base}{report}", headers={"Authorization": f"Bearer {READER}"}).status_code == 200


def test_hostile_feature_names_and_values_show_as_text(page, served):
    base = served["base"]
    sign_in(page, base)
    for path, ready in ((f"/models/{MODEL}", "#drift tbody tr"), ("/alerts", "#open tbody tr"), ("/", "li.tile")):
        page.goto(f"{base}{path}")
        page.wait_for_selector(ready)
        assert page.locator("script").count() == 1, path  # only the app's own module
        assert page.locator("img").count() == 0, path
    page.goto(f"{base}/models/{MODEL}")
    page.wait_for_selector("#drift tbody tr")
    assert page.locator(f"#drift tr[data-column='{EVIL_FEATURE}'] td").first.inner_text() == EVIL_FEATURE
    assert page.locator("#drift code", has_text=EVIL_VALUE).count() == 1
    assert EVIL_FEATURE in page.locator("#alerts tbody").inner_text()
    assert "looking <b>into</b> it" in page.locator("#audit").inner_text() + page.locator("#alerts").inner_text()
    page.goto(f"{base}/alerts")
    page.wait_for_selector("#open tbody tr")
    assert EVIL_VALUE in page.locator("#open").inner_text()
    assert page.dialogs == [] and real_problems(page) == [], (page.dialogs, page.problems)


def test_buttons_post_the_reason_and_show_the_servers_answer(page, served):
    from playwright.sync_api import expect

    base, ids = served["base"], served["ids"]
    assert isinstance(ids, Populated)
    sent = []

    def answer(status: int, body: dict):
        def handle(route):
            request = route.request
            sent.append({"method": request.method, "url": request.url, "body": json.loads(request.post_data),
                         "headers": request.all_headers()})
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
        return handle

    page.route(re.compile(r".*/v1/alerts/\d+/ack$"), answer(200, {"id": ids.firing_alert, "state": "acknowledged"}))
    page.route(re.compile(r".*/v1/recovery/\d+/approve$"),
               answer(200, {"id": ids.approval_action, "state": "scheduled"}))
    page.route(re.compile(r".*/v1/recovery/\d+/cancel$"),
               answer(409, {"detail": f"recovery action {ids.scheduled_action} is running; too late to cancel"}))
    sign_in(page, base, path=f"/models/{MODEL}")
    page.wait_for_selector("#recovery tbody tr button")

    row = page.locator(f"#alerts tr[data-alert='{ids.firing_alert}']")
    row.locator("input[name=reason]").fill("on it <b>now</b>")
    row.locator("button", has_text="Acknowledge").click()
    expect(row.locator("output.result.ok")).to_have_text("Acknowledge: now acknowledged")
    if ids.acknowledged_alert is not None:  # already acknowledged: who and why, no button
        done = page.locator(f"#alerts tr[data-alert='{ids.acknowledged_alert}']")
        assert done.locator("button").count() == 0 and "acknowledged by token:alice" in done.inner_text()

    pending = page.locator(f"#recovery tr[data-action='{ids.approval_action}']")
    assert pending.locator("button").all_inner_texts() == ["Approve", "Cancel"]
    pending.locator("input[name=reason]").fill("checked the new data")
    pending.locator("input[name=reason]").press("Enter")  # Enter must not approve on its own
    pending.locator("button", has_text="Approve").click()
    expect(pending.locator("output.result.ok")).to_have_text("Approve: now scheduled")

    scheduled = page.locator(f"#recovery tr[data-action='{ids.scheduled_action}']")
    assert scheduled.locator("button").all_inner_texts() == ["Cancel"]
    scheduled.locator("button", has_text="Cancel").click()
    expect(scheduled.locator("output.result.error")).to_have_text(
        f"Failed (HTTP 409): recovery action {ids.scheduled_action} is running; too late to cancel")
    assert scheduled.locator("button").is_enabled()  # a failed call can be retried

    assert [(s["method"], s["url"].removeprefix(base), s["body"]) for s in sent] == [
        ("POST", f"/v1/alerts/{ids.firing_alert}/ack", {"reason": "on it <b>now</b>"}),
        ("POST", f"/v1/recovery/{ids.approval_action}/approve", {"reason": "checked the new data"}),
        ("POST", f"/v1/recovery/{ids.scheduled_action}/cancel", {"reason": ""}),
    ]
    for request in sent:
        assert request["headers"]["x-requested-with"] == "modelwatch"
        assert request["headers"]["content-type"] == "application/json"
        assert f"modelwatch_token={ADMIN}" in request["headers"].get("cookie", "")
    page.screenshot(path=str(ARTIFACTS / "dashboard-buttons-1366x768.png"), full_page=False)
    assert all("409" in p for p in real_problems(page)), page.problems


def _audit_rows(url: str, action: str, subject: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from monitor.db.engine import session_scope
    from monitor.db.schema import AuditEvent

    with session_scope(url) as session:
        return [(e.actor, e.reason) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject == subject))]


def test_acknowledge_against_the_real_endpoint(page, writable):
    """No interception: the click reaches `modelwatch serve`, which changes the database and audits
    it; the page re-reads and shows who acknowledged, without a reload."""
    from playwright.sync_api import expect

    from monitor.db.engine import session_scope
    from monitor.db.schema import Alert

    base, ids, url = writable["base"], writable["ids"], writable["url"]
    with session_scope(url) as session:
        assert session.get(Alert, ids.firing_alert).state == "firing"
    sign_in(page, base, path=f"/models/{MODEL}")
    row = page.locator(f"#alerts tr[data-alert='{ids.firing_alert}']")
    row.locator("button").wait_for()
    row.locator("input[name=reason]").fill("on it <b>now</b>")
    row.locator("button", has_text="Acknowledge").click()
    expect(row.locator("output.result")).to_have_text("Acknowledge: now acknowledged", timeout=15_000)
    expect(row.locator(".badge").first).to_have_text("acknowledged", timeout=15_000)
    assert "acknowledged by token:admin" in row.inner_text() and "on it <b>now</b>" in row.inner_text()
    assert row.locator("button").count() == 0

    with session_scope(url) as session:
        alert = session.get(Alert, ids.firing_alert)
        assert alert.state == "acknowledged" and alert.acknowledged_at is not None
    assert _audit_rows(url, "acknowledge", f"alert:{ids.firing_alert}") == [("token:admin", "on it <b>now</b>")]
    page.screenshot(path=str(ARTIFACTS / "dashboard-e2e-acknowledged-1366x768.png"), full_page=True)
    assert real_problems(page) == [] and page.dialogs == [], (page.problems, page.dialogs)


def test_approve_and_cancel_against_the_real_endpoints(page, writable):
    """No interception: Approve moves a pending action to ``scheduled``, Cancel a scheduled one to
    ``cancelled``, each with its audit row; the page shows both without a reload."""
    import datetime as dt

    from playwright.sync_api import expect
    from sqlalchemy import update

    from monitor.db.engine import session_scope
    from monitor.db.schema import RecoveryAction

    base, ids, url = writable["base"], writable["ids"], writable["url"]
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(url) as session:
        session.execute(update(RecoveryAction).where(RecoveryAction.id == ids.approval_action)
                        .values(expires_at=now + dt.timedelta(hours=12)))
        pending, scheduled = (session.get(RecoveryAction, i) for i in (ids.approval_action, ids.scheduled_action))
        assert pending.state == "pending_approval" and scheduled.state == "scheduled"
        assert scheduled.eta > now

    sign_in(page, base, path=f"/models/{MODEL}")
    row = page.locator(f"#recovery tr[data-action='{ids.approval_action}']")
    row.locator("button").first.wait_for()
    assert row.locator("button").all_inner_texts() == ["Approve", "Cancel"]
    row.locator("input[name=reason]").fill("checked the new data")
    row.locator("button", has_text="Approve").click()
    expect(row.locator("output.result.ok")).to_have_text("Approve: now scheduled", timeout=15_000)

    row = page.locator(f"#recovery tr[data-action='{ids.scheduled_action}']")
    assert row.locator("button").all_inner_texts() == ["Cancel"]
    row.locator("input[name=reason]").fill("not tonight")
    row.locator("button", has_text="Cancel").click()
    expect(row.locator("output.result.ok")).to_have_text("Cancel: now cancelled", timeout=15_000)

    with session_scope(url) as session:
        assert session.get(RecoveryAction, ids.approval_action).state == "scheduled"
        assert session.get(RecoveryAction, ids.scheduled_action).state == "cancelled"
    assert _audit_rows(url, "approve", f"recovery:{ids.approval_action}") == [("token:admin", "checked the new data")]
    assert _audit_rows(url, "cancel", f"recovery:{ids.scheduled_action}") == [("token:admin", "not tonight")]

    approved = page.locator(f"#recovery tr[data-action='{ids.approval_action}']")
    cancelled = page.locator(f"#recovery tr[data-action='{ids.scheduled_action}']")
    expect(approved.locator(".badge").first).to_have_text("scheduled", timeout=15_000)
    expect(cancelled.locator(".badge").first).to_have_text("cancelled", timeout=15_000)
    assert cancelled.locator("button").count() == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-e2e-recovery-1366x768.png"), full_page=True)
    assert real_problems(page) == [] and page.dialogs == [], (page.problems, page.dialogs)


def test_the_real_api_takes_the_cookie_only_with_the_csrf_header(page, served):
    base = served["base"]
    sign_in(page, base)
    refused = page.request.post(f"{base}/v1/models/nosuch/checks")
    assert refused.status == 403 and "X-Requested-With: modelwatch" in refused.json()["detail"]
    passed = page.request.post(f"{base}/v1/models/nosuch/checks", headers={"X-Requested-With": "modelwatch"})
    assert passed.status == 404 and "nosuch" in passed.json()["detail"]


def test_the_dashboard_reads_postgresql_too(db_url, tmp_path):
    """The model and alerts pages' reads over both databases (in-process; the browser tests use SQLite)."""
    from fastapi.testclient import TestClient

    from frontdoors.api.app import create_app

    populate(db_url, tmp_path)
    api = TestClient(create_app(Settings(data_dir=tmp_path, database_url=db_url)))
    model = api.get(f"/v1/dashboard/models/{MODEL}")
    assert model.status_code == 200, model.text
    body = model.json()
    assert {t["name"] for t in body["tiles"]["model"]} >= {"recall", "precision"}
    assert any(d["column"] == EVIL_FEATURE and d["drifted"] for d in body["drift"])
    assert len(body["runs"]) == CHECKS and all(r["report"] for r in body["runs"])
    fleet = api.get("/v1/fleet").json()
    assert {m["name"]: m["health"] for m in fleet["models"]} == {MODEL: "critical", "idle": "unchecked"}
    assert api.get("/v1/dashboard/alerts").json()["open"]
