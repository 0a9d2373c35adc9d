"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a real
`modelwatch serve` process, over a database filled by real check chains.

One button test intercepts the acknowledge / approve / cancel calls with ``page.route`` to check
what the page sends and how it shows answers (including a refusal); the end-to-end ones click
through to the real endpoints, on their own database and server, and check the database, the
audit trail and the reloaded page. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.config import Settings
from monitor.db.migrate import upgrade
from tests.conftest import ARTIFACTS, ROOT, free_port, unavailable, wait_for
from tests.support.dashboard_data import EVIL_FEATURE, EVIL_VALUE, HEALTHY_CHECKS, MODEL, Populated, populate

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ADMIN, READER = "adm1n-t0ken", "r3ad-t0ken"
SCREENS = [(1366, 768), (1920, 1080)]
CHECKS = HEALTHY_CHECKS + 2


def _serve(folder: Path) -> Iterator[dict]:
    """A populated SQLite database in ``folder`` and a `modelwatch serve` over it."""
    if not CHROMIUM.exists():
        unavailable("chromium is not installed (make services installs it: apt-get install chromium)")
    url = f"sqlite:///{folder / 'state.db'}"
    upgrade(url)
    ids = populate(url, folder)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    env.update(MODELWATCH_DATA_DIR=str(folder), MODELWATCH_DATABASE_URL=url, MODELWATCH_API_TOKEN=ADMIN,
               MODELWATCH_READ_TOKEN=READER, PYTHONPATH=str(ROOT))
    log = folder / "api.log"
    api = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "serve", "--port", str(port)], env=env,
                           stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz") or api.poll() is not None, 30, "the API to answer")
        assert api.poll() is None, log.read_text()
        yield {"base": base, "ids": ids, "log": log, "url": url}
    finally:
        api.terminate()
        api.wait(10)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict]:
    """A populated SQLite database and a `modelwatch serve` over it, with write and read tokens."""
    yield from _serve(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def writable(tmp_path_factory) -> Iterator[dict]:
    """Like ``served``, but its own database and server: the end-to-end button tests change state
    (alert acknowledged, actions approved and cancelled, audit rows) that the other tests count."""
    yield from _serve(tmp_path_factory.mktemp("dashboard-writable"))


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served, request):
    """A fresh browser context at 1366x768 that records console errors, page errors and dialogs."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    tab.problems, tab.dialogs = [], []
    tab.on("console", lambda m: tab.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    yield tab
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failed.png"), full_page=True)
        log = (request.node.funcargs.get("writable") or served)["log"]
        shutil.copy(log, ARTIFACTS / f"{request.node.name}-api.log")
    context.close()


def sign_in(page, base: str, token: str = ADMIN, path: str = "/") -> None:
    page.goto(f"{base}{path}")
    page.fill("#token", token)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}{path}")


def test_login_flow_guards_every_page_and_a_read_token_gets_no_buttons(page, served):
    base = served["base"]
    page.goto(f"{base}/models/{MODEL}")
    assert page.url == f"{base}/login?next=%2Fmodels%2F{MODEL}"
    page.fill("#token", "wrong")
    page.click("form[action='/login'] button[type=submit]")
    assert page.locator("p.error").inner_text() == "That token is not valid."
    page.fill("#token", READER)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/models/{MODEL}")
    assert "token:reader (read-only)" in page.locator("header.top .who").inner_text()
    assert page.locator(".act button").count() == 0 and page.locator("text=read-only").count() > 1
    cookie = next(c for c in page.context.cookies() if c["name"] == "modelwatch_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read the token
    page.click("text=Sign out")
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/alerts")
    assert page.url.startswith(f"{base}/login?next=")
    assert page.problems == [] or all("401" in p for p in page.problems), page.problems


def test_pages_load_cleanly_and_draw_their_charts(page, served):
    base = served["base"]
    sign_in(page, base)
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (("overview", "/"), ("model", f"/models/{MODEL}"), ("alerts", "/alerts")):
            response = page.goto(f"{base}{path}")
            assert response.status == 200, path
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{width}x{height}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}x{height}"
    assert page.problems == [], page.problems

    page.goto(f"{base}/")
    card = page.locator(f"article.card[data-model='{MODEL}']")
    assert card.locator(".badge").first.inner_text() == "critical"
    assert card.locator("svg.spark polyline").count() >= 3
    assert "pending approval" in card.inner_text()
    assert page.locator("article.card[data-model='idle'] .badge").inner_text() == "unchecked"

    page.goto(f"{base}/models/{MODEL}")
    performance = page.locator("figure.chart[data-title='Model performance'] svg")
    assert performance.locator("circle[r='3.5']").count() == 4 * CHECKS  # accuracy, precision, recall, f1
    assert performance.locator("polyline").count() >= 4
    assert performance.locator("line[stroke-dasharray]").count() == 1  # the recall rule's threshold
    assert "recall threshold" in performance.inner_html()
    latency = page.locator("figure.chart[data-title='Latency (ms)'] svg")
    assert "latency_p95_ms threshold 250.0" in latency.inner_html()
    # the detector flagged the first slow check; later, slower ones are the new normal to it
    rings = latency.locator("circle.anomaly")
    assert rings.count() == 1 and rings.locator("title").text_content().startswith("anomaly: latency_p95_ms at ")
    assert latency.locator("circle[r='3.5']").count() == 3 * CHECKS
    assert page.locator("#alerts svg rect.alert-bar").count() == page.locator("#alerts tbody tr").count() >= 3
    assert page.locator("#drift .plots svg rect").count() > 4  # the drifted feature's distribution
    assert page.locator("#kpis .tile.breached").count() >= 2  # recall and p95 latency
    assert page.locator("#quality tbody tr").count() >= 1
    assert page.locator("#runs a[href$='/report']").count() == CHECKS
    assert page.locator("#audit tbody tr").count() == 2


def test_hostile_feature_names_and_values_show_as_text(page, served):
    base = served["base"]
    sign_in(page, base)
    for path in (f"/models/{MODEL}", "/alerts", "/"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        assert page.locator("script").count() == 1, path  # only static/dashboard.js
        assert page.locator("img").count() == 0, path
    page.goto(f"{base}/models/{MODEL}")
    assert page.locator(f"#drift tr[data-column='{EVIL_FEATURE}'] td").first.inner_text() == EVIL_FEATURE
    assert page.locator("#drift code", has_text=EVIL_VALUE).count() == 1
    assert EVIL_FEATURE in page.locator("#alerts tbody").inner_text()
    assert EVIL_FEATURE in page.locator("#drift .plots svg title").first.text_content()
    assert "looking <b>into</b> it" in page.locator("#audit").inner_text() + page.locator("#alerts").inner_text()
    page.goto(f"{base}/alerts")
    assert EVIL_VALUE in page.locator("#open").inner_text()
    assert page.dialogs == [] and page.problems == [], (page.dialogs, page.problems)


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

    page.route(re.compile(r".*/v1/alerts/\d+/ack$"), answer(200, {"message": "alert acknowledged"}))
    page.route(re.compile(r".*/v1/recovery/\d+/approve$"), answer(200, {"id": ids.approval_action, "state": "scheduled",
                                                                       "message": "approved; runs in 2 h"}))
    page.route(re.compile(r".*/v1/recovery/\d+/cancel$"),
               answer(409, {"detail": f"recovery action {ids.scheduled_action} is running; too late to cancel"}))
    sign_in(page, base, path=f"/models/{MODEL}")

    row = page.locator(f"#alerts tr[data-alert='{ids.firing_alert}']")
    row.locator("input[name=reason]").fill("on it <b>now</b>")
    row.locator("button", has_text="Acknowledge").click()
    expect(row.locator("output.result.ok")).to_have_text(
        "Acknowledge: alert acknowledged (reload to see the new state)")
    assert row.locator("button").is_disabled()
    if ids.acknowledged_alert is not None:  # already acknowledged: who and why, no button
        done = page.locator(f"#alerts tr[data-alert='{ids.acknowledged_alert}']")
        assert done.locator("button").count() == 0 and "acknowledged by token:alice" in done.inner_text()

    pending = page.locator(f"#recovery tr[data-action='{ids.approval_action}']")
    assert pending.locator("button").all_inner_texts() == ["Approve", "Cancel"]
    pending.locator("input[name=reason]").fill("checked the new data")
    pending.locator("input[name=reason]").press("Enter")  # Enter must not approve on its own
    pending.locator("button", has_text="Approve").click()
    expect(pending.locator("output.result.ok")).to_have_text("Approve: now scheduled (reload to see the new state)")

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
    assert page.problems == [] or all("409" in p for p in page.problems), page.problems


def _audit_rows(url: str, action: str, subject: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from monitor.db.engine import session_scope
    from monitor.db.schema import AuditEvent

    with session_scope(url) as session:
        return [(e.actor, e.reason) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject == subject))]


def test_acknowledge_against_the_real_endpoint(page, writable):
    """No interception: the click reaches `modelwatch serve`, which changes the database and audits it."""
    from playwright.sync_api import expect

    from monitor.db.engine import session_scope
    from monitor.db.schema import Alert

    base, ids, url = writable["base"], writable["ids"], writable["url"]
    with session_scope(url) as session:
        assert session.get(Alert, ids.firing_alert).state == "firing"
    sign_in(page, base, path=f"/models/{MODEL}")
    row = page.locator(f"#alerts tr[data-alert='{ids.firing_alert}']")
    row.locator("input[name=reason]").fill("on it <b>now</b>")
    row.locator("button", has_text="Acknowledge").click()
    expect(row.locator("output.result")).to_have_text(
        "Acknowledge: now acknowledged (reload to see the new state)", timeout=15_000)
    assert row.locator("output.result.ok").count() == 1 and row.locator("button").is_disabled()

    with session_scope(url) as session:
        alert = session.get(Alert, ids.firing_alert)
        assert alert.state == "acknowledged" and alert.acknowledged_at is not None
    assert _audit_rows(url, "acknowledge", f"alert:{ids.firing_alert}") == [("token:admin", "on it <b>now</b>")]

    page.reload()
    row = page.locator(f"#alerts tr[data-alert='{ids.firing_alert}']")
    assert row.locator("button").count() == 0
    assert "acknowledged by token:admin" in row.inner_text() and "on it <b>now</b>" in row.inner_text()
    assert "acknowledged" in row.locator(".badge").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-e2e-acknowledged-1366x768.png"), full_page=True)
    assert page.problems == [] and page.dialogs == [], (page.problems, page.dialogs)


def test_approve_and_cancel_against_the_real_endpoints(page, writable):
    """No interception: Approve moves a pending action to ``scheduled``, Cancel a scheduled one to
    ``cancelled``, each with its audit row; the reloaded page shows both."""
    import datetime as dt

    from playwright.sync_api import expect
    from sqlalchemy import update

    from monitor.db.engine import session_scope
    from monitor.db.schema import RecoveryAction

    base, ids, url = writable["base"], writable["ids"], writable["url"]
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(url) as session:
        # as monitor.recovery.approval creates them: pending, with a deadline still ahead
        session.execute(update(RecoveryAction).where(RecoveryAction.id == ids.approval_action)
                        .values(expires_at=now + dt.timedelta(hours=12)))
        pending, scheduled = (session.get(RecoveryAction, i) for i in (ids.approval_action, ids.scheduled_action))
        assert pending.state == "pending_approval" and scheduled.state == "scheduled"
        assert scheduled.eta > now  # still waiting: it can be cancelled

    sign_in(page, base, path=f"/models/{MODEL}")
    ARTIFACTS.mkdir(exist_ok=True)
    row = page.locator(f"#recovery tr[data-action='{ids.approval_action}']")
    assert row.locator("button").all_inner_texts() == ["Approve", "Cancel"]
    row.locator("input[name=reason]").fill("checked the new data")
    row.locator("button", has_text="Approve").click()
    expect(row.locator("output.result")).to_have_text(
        "Approve: now scheduled (reload to see the new state)", timeout=15_000)
    assert row.locator("output.result.ok").count() == 1

    row = page.locator(f"#recovery tr[data-action='{ids.scheduled_action}']")
    assert row.locator("button").all_inner_texts() == ["Cancel"]
    row.locator("input[name=reason]").fill("not tonight")
    row.locator("button", has_text="Cancel").click()
    expect(row.locator("output.result")).to_have_text(
        "Cancel: now cancelled (reload to see the new state)", timeout=15_000)
    assert row.locator("output.result.ok").count() == 1
    page.screenshot(path=str(ARTIFACTS / "dashboard-e2e-decided-1366x768.png"), full_page=False)

    with session_scope(url) as session:
        assert session.get(RecoveryAction, ids.approval_action).state == "scheduled"
        assert session.get(RecoveryAction, ids.scheduled_action).state == "cancelled"
    assert _audit_rows(url, "approve", f"recovery:{ids.approval_action}") == [("token:admin", "checked the new data")]
    assert _audit_rows(url, "cancel", f"recovery:{ids.scheduled_action}") == [("token:admin", "not tonight")]

    page.reload()
    approved = page.locator(f"#recovery tr[data-action='{ids.approval_action}']")
    cancelled = page.locator(f"#recovery tr[data-action='{ids.scheduled_action}']")
    assert approved.locator(".badge").first.inner_text() == "scheduled"
    assert approved.locator("button").all_inner_texts() == ["Cancel"]
    assert cancelled.locator(".badge").first.inner_text() == "cancelled"
    assert cancelled.locator("button").count() == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-e2e-recovery-1366x768.png"), full_page=True)
    assert page.problems == [] and page.dialogs == [], (page.problems, page.dialogs)


def test_the_real_api_takes_the_cookie_only_with_the_csrf_header(page, served):
    base = served["base"]
    sign_in(page, base)
    refused = page.request.post(f"{base}/v1/models/nosuch/checks")
    assert refused.status == 403 and "X-Requested-With: modelwatch" in refused.json()["detail"]
    passed = page.request.post(f"{base}/v1/models/nosuch/checks", headers={"X-Requested-With": "modelwatch"})
    assert passed.status == 404 and "nosuch" in passed.json()["detail"]  # past auth and CSRF: no such model


def test_the_dashboard_reads_postgresql_too(db_url, tmp_path):
    """The same pages over both databases (rendered in-process; the browser tests use SQLite)."""
    from fastapi.testclient import TestClient

    from frontdoors.api.app import create_app

    populate(db_url, tmp_path)
    api = TestClient(create_app(Settings(data_dir=tmp_path, database_url=db_url)))
    model = api.get(f"/models/{MODEL}")
    assert model.status_code == 200
    assert model.text.count("<circle") > 20 and "&lt;script&gt;alert(1)&lt;/script&gt;" in model.text
    assert EVIL_FEATURE not in model.text
    assert api.get("/").status_code == 200 and api.get("/alerts").status_code == 200


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
