"""Shared by the dashboard's browser tests: a `modelwatch serve` over a filled database, Debian's
Chromium through Playwright, a page that records console errors and dialogs, and sign-in.

The fixtures are imported by the test modules (pytest finds them in the module's namespace).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.db.migrate import upgrade
from tests.conftest import ARTIFACTS, ROOT, free_port, unavailable, wait_for
from tests.support.dashboard_data import populate

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web/node_modules/axe-core/axe.min.js"
BUILT = ROOT / "frontdoors/dashboard/static/app/index.html"
ADMIN, READER = "adm1n-t0ken", "r3ad-t0ken"


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
        wait_for(lambda: _answers(f"{base}/healthz") or api.poll() is not None, 90, "the API to answer")
        assert api.poll() is None, log.read_text()

    def stop() -> None:
        api = running.pop()
        api.terminate()
        try:
            api.wait(15)
        except subprocess.TimeoutExpired:  # a live stream still open: the test is over, end it
            api.kill()
            api.wait(5)

    try:
        start()  # inside the try: an API that never answered is stopped too, not left running
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
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
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
        for name in ("served", "writable", "fleet"):
            if name in request.node.funcargs:
                shutil.copy(request.node.funcargs[name]["log"], ARTIFACTS / f"{request.node.name}-api.log")
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


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
