"""A real ``mlflow server`` on a free port with a SQLite backend (webhooks need a SQL store).

Import the fixture into a test module: ``from tests.support.mlflow_server import mlflow_server``.
The server may deliver webhooks to plain http on loopback (``MLFLOW_WEBHOOK_ALLOWED_SCHEMES``,
``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``), which production MLflow refuses by default.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, unavailable, wait_for


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[str]:
    """The tracking URI of a fresh MLflow server for this test session."""
    try:
        import flask  # noqa: F401
        import mlflow.server  # noqa: F401
    except ImportError as exc:
        unavailable(f"mlflow server cannot start here ({exc}); `make venv` installs the test extra")
    workdir = Path(tempfile.mkdtemp(prefix="mw-mlflow-"))
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
           "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
           "MLFLOW_WEBHOOK_CACHE_TTL": "0"}
    binary = ROOT / ".venv/bin/mlflow"
    command = [str(binary)] if binary.exists() else [sys.executable, "-m", "mlflow"]
    command += ["server", "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
                "--default-artifact-root", str(workdir / "artifacts"), "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1"]
    log = open(workdir / "server.log", "wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url) or process.poll() is not None, 90, "mlflow server to answer /health")
        if process.poll() is not None:
            raise AssertionError(f"mlflow server exited {process.returncode}:\n"
                                 f"{(workdir / 'server.log').read_text(errors='replace')[-3000:]}")
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn worker, both ours
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
