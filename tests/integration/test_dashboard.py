"""The React dashboard in a real browser (Debian's Chromium driven by Playwright) against a real
`modelwatch serve` process, over a database filled by real check chains.

One button test intercepts the acknowledge / approve / cancel calls with ``page.route`` to check
what the page sends and how it shows answers (including a refusal); the end-to-end ones click
through to the real endpoints, on their own database and server, and check the database, the
audit trail and the page. The live test starts a worker, forces a check while the model's page is
open and waits for the finished run to appear without a reload. An axe-core scan checks every
page for serious or critical accessibility violations. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.config import Settings
from monitor.db.migrate import upgrade
from tests.conftest import ARTIFACTS, ROOT, free_port, unavailable, wait_for
from tests.integration.dashboard_data import EVIL_FEATURE, EVIL_VALUE, HEALTHY_CHECKS, MODEL, Populated, populate

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web/node_modules/axe-core/axe.min.js"
BUILT = ROOT / "frontdoors/dashboard/static/app/index.html"
ADMIN, READER = "adm1n-t0ken", "r3ad-t0ken"
SCREENS = [(1366, 768), (1920, 1080)]
CHECKS = HEALTHY_CHECKS + 2
FLEET_SIZE = 1000


def _environment(folder: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    env.update(MODELWATCH_DATA_DIR=str(folder), MODELWATCH_DATABASE_URL=url, MODELWATCH_API_TOKEN=ADMIN,
               MODELWATCH_READ_TOKEN=READER, MODELWATCH_DISPATCH_INTERVAL="1", PYTHONPATH=str(ROOT))
    return env


def _serve(folder: Path, fill=populate) -> Iterator[dict]:
    """A database in ``folder`` filled by ``fill`` and a `modelwatch serve` over it; ``restart()``
    stops the API and starts a new one on the same port (the live stream must reconnect)."""
    if not CHROMIUM.exists():
        unavailable("chromium is not installed (make services installs it: apt-get install chromium)")
    if not BUILT.exists():
        unavailable("the dashboard is not built: run `make web` (npm ci && npm run build in web/)")
    url = f"sqlite:///{folder / 'state.db'}"
    upgrade(url)
    ids = fill(url, folder)
    port = free_port()
    env = _environment(folder, url)
    log = folder / "api.log"
    base = f"http://127.0.0.1:{port}"
    running: list[subprocess.Popen] = []

    def start() -> None:
        api = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "serve", "--port", str(port)], env=env,
                               stdout=open(log, "ab"), stderr=subprocess.STDOUT)
        running.append(api)
        wait_for(lambda: _answers(f"{base}/healthz") or api.poll() is not None, 30, "the API to answer")
        assert api.poll() is None, log.read_text()

    def stop() -> None:
        api = running.pop()
        api.terminate()
        api.wait(15)

    start()
    try:
        yield {"base": base, "ids": ids, "log": log, "url": url, "env": env, "folder": folder,
               "stop": stop, "start": start}
    finally:
        while running:
            stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict]:
    """A populated SQLite database and a `modelwatch serve` over it, with write and read tokens."""
    yield from _serve(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def writable(tmp_path_factory) -> Iterator[dict]:
    """Like ``served``, but its own database and server: the end-to-end tests change state
    (alert acknowledged, actions approved and cancelled, audit rows, a new run)."""
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


def real_problems(page) -> list[str]:
    """Console errors other than the live stream's own (Chromium logs a refused EventSource
    while the API restarts)."""
    return [p for p in page.problems if "/v1/events" not in p]


def sign_in(page, base: str, token: str = ADMIN, path: str = "/") -> None:
    page.goto(f"{base}{path}")
    page.fill("#token", token)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    page.wait_for_selector("h1")


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
    page.route(re.compile(r".*/v1/recovery/\d+/approve$"), answer(200, {"id": ids.approval_action, "state": "scheduled"}))
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


def test_a_check_finishing_while_the_page_is_open_appears_without_reload(page, writable):
    """A real worker runs a forced check while the model's page is open; the run.finished event
    brings the new run into the runs table with its final status, with no reload. Then the API
    restarts: the header says "reconnecting", the stream comes back, and the next check appears too."""
    from playwright.sync_api import expect

    from frontdoors import runner

    base, folder = writable["base"], writable["folder"]
    sign_in(page, base, path=f"/models/{MODEL}")
    page.wait_for_selector("#runs tbody tr")
    live = page.locator("header.top .live")
    expect(live).to_have_text("live", timeout=15_000)
    page.evaluate("window.__stillHere = true")  # gone if the page reloads
    worker = runner.start_worker(writable["env"], log=folder / "worker.log", concurrency=1, hostname="web@%h")
    try:
        runner.wait_ready(worker, "ready.", timeout=60)
        _force_and_see(page, base, "before the restart")

        writable["stop"]()
        expect(live).to_have_text("reconnecting…", timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-reconnecting-1366x768.png"), full_page=False)
        writable["start"]()
        expect(live).to_have_text("live", timeout=20_000)
        _force_and_see(page, base, "after the restart")
    finally:
        worker.process.terminate()
        worker.process.wait(15)
    assert page.evaluate("window.__stillHere") is True  # no reload
    page.screenshot(path=str(ARTIFACTS / "dashboard-live-run-1366x768.png"), full_page=False)


def _force_and_see(page, base: str, when: str) -> None:
    """Force a check over HTTP and wait for the open page to show it finished; print how long it took."""
    started = time.monotonic()
    forced = httpx.post(f"{base}/v1/models/{MODEL}/checks?rerun=true",
                        headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)
    assert forced.status_code == 202, forced.text
    run_id = forced.json()["run_id"]
    row = page.locator(f"#runs tr[data-run='{run_id}']")
    wait_for(lambda: row.count() == 1 and row.locator(".badge").inner_text() in ("succeeded", "failed"),
             60, f"the finished run to appear on the open page {when}")
    print(f"forced check {run_id[:8]} appeared on the open page {when}, "
          f"{time.monotonic() - started:.1f} s after it was requested")


def test_no_serious_accessibility_violations(browser, served):
    """axe-core (the npm package, injected into the page) finds no serious or critical violation.
    The page's CSP forbids injected scripts, as it should; this context alone bypasses it."""
    if not AXE.exists():
        unavailable("axe-core is not installed: run `make web` (npm ci in web/)")
    base = served["base"]
    context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, base)
    found = {}
    for path, ready in (("/", "li.tile"), (f"/models/{MODEL}", "figure.chart canvas"), ("/alerts", "#open tbody tr"),
                        ("/login", None)):
        if path == "/login":
            page.context.clear_cookies()
        page.goto(f"{base}{path}")
        page.wait_for_selector(ready or "#token")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
        found[path] = bad
    context.close()
    assert all(not bad for bad in found.values()), found


def _fleet(url: str, folder: Path) -> None:
    """FLEET_SIZE registered models, one in fifty with an open critical alert (inserted directly: a
    check chain per model would take minutes and the overview only reads)."""
    import datetime as dt

    from monitor.db.engine import session_scope
    from monitor.db.schema import Alert
    from monitor.spec import parse_spec
    from monitor.store import models as store

    now = dt.datetime.now(dt.timezone.utc)
    specs = parse_spec({"models": [{"name": f"model-{i:04d}", "task": "binary_classification"}
                                   for i in range(FLEET_SIZE)]})
    with session_scope(url) as session:
        for i, spec in enumerate(specs):
            model, _ = store.upsert_model(session, spec)
            if i % 50 == 0:
                session.add(Alert(model_id=model.id, rule="recall_drop", kind="performance", state="firing",
                                  severity="critical", message="recall fell", first_run_id="r", last_run_id="r",
                                  last_window_end=now))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Iterator[dict]:
    yield from _serve(tmp_path_factory.mktemp("dashboard-fleet"), fill=_fleet)


def test_the_overview_stays_fast_at_a_thousand_models(page, fleet):
    from playwright.sync_api import expect

    base = fleet["base"]
    sign_in(page, base)
    started = time.monotonic()
    page.goto(f"{base}/")
    expect(page.locator("li.tile")).to_have_count(FLEET_SIZE, timeout=30_000)  # no eval: the CSP forbids it
    took = time.monotonic() - started
    print(f"overview of {FLEET_SIZE} models: {took:.2f} s from navigation to every tile drawn")
    assert took < 10, took
    assert page.locator("li.tile").first.get_attribute("data-model") == "model-0000"  # critical first
    group = page.locator("table.groups tr[data-group='recall_drop']")
    assert "20" in group.inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-fleet-1000-1366x768.png"), full_page=False)


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


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
