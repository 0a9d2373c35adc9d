"""The HTML report in a real browser (Debian's Chromium driven by Playwright) at 1366 px: open
alerts first, the Findings table inside the page width, drift rows naming their feature, the
retrain's loss history drawn, the raw JSON collapsed. Screenshots go to test-artifacts/.

The report is real: ``monitor.report`` runs the check's functions on two DataFrames where seven
features shifted together; the alerts and the retrain a served model would add are attached to
that summary as the alert and recovery stages store them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import monitor
from monitor.reports import render_html
from tests.conftest import ARTIFACTS, unavailable

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
FEATURES = [f"customer_lifetime_value_segment_{i}" for i in range(7)]


def _frame(n: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(shift, 1, n) for name in FEATURES}
    x = data[FEATURES[0]]
    score = 1 / (1 + np.exp(-x))
    data |= {"plan": rng.choice(["basic", "plus", "enterprise-with-a-very-long-plan-name"], n),
             "label": (x + rng.normal(0, 1, n) > 0).astype(int),
             "prediction": np.where(rng.random(n) < 0.25, score < 0.5, score > 0.5).astype(int), "score": score}
    return pd.DataFrame(data)


def _summary() -> dict:
    summary = monitor.report(_frame(1500, 0, 0.0), _frame(1500, 1, 0.8), spec={"name": "churn"}).to_json()
    firing = [f for f in summary["findings"] if f["status"] == "firing"]
    summary["alerts"] = [{"id": i, "rule": f["rule"], "kind": f["kind"], "segment": f["segment"], "state": "firing",
                          "severity": f["severity"], "message": f["message"],
                          "first_seen": "2026-12-03T00:02:05+00:00"} for i, f in enumerate(firing, start=1)]
    loss = [round(0.69 * 0.995 ** i, 5) for i in range(400)]
    summary["recovery_actions"] = [{
        "id": 4, "kind": "retrain", "state": "succeeded", "eta": "2026-12-03T00:07:05+00:00", "reason": "accuracy_drop",
        "result": {"summary": "trained v3 on 12,000 rows", "new_version": "3", "previous_version": "2",
                   "history": {"log_loss": loss, "val_log_loss": [v + 0.02 for v in loss]},
                   "evaluation": {"metric": "accuracy", "candidate": 0.79, "serving": 0.64, "promote": True,
                                  "reason": "candidate beats serving on held-out rows"}}}]
    summary["history"] = {"accuracy": [[f"2026-12-03T00:02:{s:02d}+00:00", 0.75 - s / 500] for s in range(5, 60, 10)]}
    summary["events"] = [{"at": "2026-12-03T00:02:30+00:00", "kind": "rollback", "label": "#3"}]
    return summary


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    if not CHROMIUM.exists():
        unavailable("chromium is not installed (make services installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(_summary()), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(path.as_uri())
        yield page
        browser.close()


def test_report_at_1366_px_has_no_horizontal_overflow(report_page):
    page = report_page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-1366x768.png"), full_page=False)
    page.screenshot(path=str(ARTIFACTS / "report-full-1366.png"), full_page=True)
    widths = page.evaluate("""() => {
        const table = document.querySelector('#findings table');
        return {table: table.getBoundingClientRect().right, box: table.closest('section').getBoundingClientRect().right,
                scroll: table.parentElement.scrollWidth, client: table.parentElement.clientWidth,
                page: document.documentElement.scrollWidth};
    }""")
    assert widths["table"] <= widths["box"], widths
    assert widths["scroll"] <= widths["client"], widths  # no horizontal scrollbar inside either
    assert widths["page"] <= 1366, widths


def test_on_call_reading_order_and_rendered_results(report_page):
    page = report_page
    tops = page.evaluate("""() => ['alerts', 'recovery', 'kpis', 'findings'].map(
        id => document.getElementById(id).getBoundingClientRect().top)""")
    assert tops == sorted(tops)
    groups = page.locator("#alerts .group")
    assert groups.count() < len(page.locator("#alerts li").all())  # alerts of one shift are grouped
    assert "customer_lifetime_value_segment_1" in page.locator("#alerts").inner_text()
    findings = page.locator("#findings").inner_text()
    assert "customer_lifetime_value_segment_3" in findings and "__score__" not in page.content()
    recovery = page.locator("#recovery")
    assert recovery.locator("svg").count() >= 1  # the loss history drawn
    raw = recovery.locator("details pre")
    assert not raw.is_visible()  # collapsed until asked for
    recovery.locator("details summary").click()
    assert raw.is_visible() and "val_log_loss" in raw.inner_text()
    page.locator("#recovery").screenshot(path=str(ARTIFACTS / "report-recovery-1366.png"))
