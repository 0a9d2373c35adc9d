"""The dashboard live and at scale, in Chromium against a real `modelwatch serve`: a check forced
while a model's page is open appears without a reload (through the event stream, also after the
API restarts); axe-core finds no serious or critical accessibility violation; the overview of
1,000 models draws quickly. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ARTIFACTS, unavailable, wait_for
from tests.support.dashboard_browser import (  # noqa: F401 (fixtures)
    ADMIN, AXE, _serve, browser, page, sign_in, writable)
from tests.support.dashboard_data import MODEL

pytestmark = pytest.mark.integration

FLEET_SIZE = 1000


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


def test_no_serious_accessibility_violations(browser, writable):
    """axe-core (the npm package, injected into the page) finds no serious or critical violation.
    The page's CSP forbids injected scripts, as it should; this context alone bypasses it."""
    if not AXE.exists():
        unavailable("axe-core is not installed: run `make web` (npm ci in web/)")
    base = writable["base"]
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
    """FLEET_SIZE registered models, one in fifty with an open critical alert (rows inserted in
    bulk from one registered spec: a check chain per model would take minutes and the overview
    only reads)."""
    import datetime as dt

    from monitor.db.engine import session_scope
    from monitor.db.schema import Alert, Model
    from monitor.spec import parse_spec
    from monitor.store import models as store

    now = dt.datetime.now(dt.timezone.utc)
    (spec,) = parse_spec({"models": [{"name": "model-0000", "task": "binary_classification"}]})
    with session_scope(url) as session:
        template, _ = store.upsert_model(session, spec)
        models = [template] + [
            Model(name=f"model-{i:04d}", task=template.task, spec={**template.spec, "name": f"model-{i:04d}"},
                  every_seconds=template.every_seconds, window_seconds=template.window_seconds)
            for i in range(1, FLEET_SIZE)]
        session.add_all(models[1:])
        session.flush()
        session.add_all(Alert(model_id=m.id, rule="recall_drop", kind="performance", state="firing",
                              severity="critical", message="recall fell", first_run_id="r", last_run_id="r",
                              last_window_end=now) for m in models[::50])


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
