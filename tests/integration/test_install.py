"""A user's install: ``pip install .`` with no extras into a clean venv, then a check through Redis.

This is issue 13's first point: a plain install must be able to use Redis (kombu's Redis
transport needs ``redis`` and ``packaging``), and the core commands must import without the
[server], [postgres] and [mlflow] extras. The venv is built the way a user builds it, offline
from a wheel cache that pip fills once per constraints.txt (so a rerun costs only the install).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import OUTBOUND_ALLOWED, ROOT, wait_for
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = [pytest.mark.integration, pytest.mark.redis]

CACHE = Path(os.environ.get("MODELWATCH_TEST_WHEELS", Path.home() / ".cache" / "modelwatch-tests" / "wheels"))
SOURCE_IGNORE = shutil.ignore_patterns(".git", ".venv", "tests", "test-artifacts", "build", "dist", "*.egg-info",
                                       "__pycache__", "node_modules", "benchmarks")


def _pip(*args: str, python: str = sys.executable, timeout: float = 900) -> None:
    result = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _wheelhouse(source: Path) -> Path:
    """Wheels of every core dependency (and the build backend), filled through pip's cache once per lock."""
    key = hashlib.sha256((ROOT / "constraints.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    folder = CACHE / key[:16]
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        _pip("wheel", "-c", str(ROOT / "constraints.txt"), "-w", str(folder), str(source))
        _pip("download", "-d", str(folder), "setuptools>=68", "wheel")
        for built in folder.glob("modelwatch-*.whl"):
            built.unlink()  # the package itself is built from the source under test, every time
        (folder / ".complete").write_text("ok\n")
    return folder


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("install")
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORE, symlinks=False)
    wheels = _wheelhouse(source)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # What a user types (`pip install .`), offline from the wheel cache, pinned like CI.
    # --no-compile: byte-compiling scipy, pandas and scikit-learn up front is most of the install time
    # on a busy machine; Python compiles what the check imports anyway.
    _pip("install", "--no-compile", "--no-index", "--find-links", str(wheels), "-c", str(ROOT / "constraints.txt"),
         str(source),
         python=str(venv / "bin" / "python"))
    return venv


def _env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
            "MODELWATCH_DATA_DIR": str(tmp_path / "data"), "MODELWATCH_BROKER_URL": redis_url,
            **OUTBOUND_ALLOWED}  # the test's webhook receiver is on loopback


def test_plain_install_has_no_server_extras_and_checks_through_redis(core_venv, redis_url, tmp_path):
    env = _env(tmp_path, redis_url)
    python, modelwatch = str(core_venv / "bin" / "python"), str(core_venv / "bin" / "modelwatch")

    def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([modelwatch, *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=timeout)

    for extra in ("fastapi", "uvicorn", "flower", "psycopg", "mlflow"):
        probe = subprocess.run([python, "-c", f"import {extra}"], env=env, cwd=tmp_path, capture_output=True)
        assert probe.returncode != 0, f"{extra} is installed without its extra"
    installed = subprocess.run([python, "-c", "import frontdoors, sys; print(frontdoors.__file__)"], env=env,
                               cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(core_venv) in installed, f"the CLI must come from the clean venv, not the checkout: {installed}"

    applied = cli("apply", "-f", str(write_model(tmp_path, "http://127.0.0.1:9/hook", recovery={})))
    assert applied.returncode == 0, applied.stderr
    predictions, labels = write_window(tmp_path, version="1", recall=0.9, n=300)
    assert cli("ingest", "predictions", str(predictions), "--model", MODEL).returncode == 0
    assert cli("ingest", "labels", str(labels), "--model", MODEL).returncode == 0

    log = tmp_path / "worker.log"
    with open(log, "ab") as out:
        worker = subprocess.Popen([python, "-m", "celery", "-A", "workers.app", "worker", "--loglevel", "INFO",
                                   "-Q", "checks,alerts,recovery,ingest,probes", "--concurrency", "1",
                                   "--without-gossip", "--without-mingle"], env=env, cwd=tmp_path, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: worker.poll() is not None or "ready." in log.read_text(errors="replace"), 90,
                 "the clean venv's worker to start")
        assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
        checked = cli("check", MODEL, "--wait", "--json", "--timeout", "90")
        assert checked.returncode == 0, checked.stdout + checked.stderr + log.read_text(errors="replace")[-3000:]
        summary = json.loads(checked.stdout)
        assert (summary["status"], summary["exit_code"]) == ("succeeded", 0)
        assert summary["outcome"] in ("healthy", "warning"), summary["outcome_message"]
        assert summary["counts"]["rows"] == 300
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
