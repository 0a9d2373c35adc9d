"""A real `modelwatch serve` process for a test's stack: ``with serve(stack) as base: ...``."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator

import httpx

from tests.conftest import ROOT, free_port, wait_for


@contextlib.contextmanager
def serve(stack, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start the API on a free port with the stack's environment; yields its base URL."""
    port = free_port()
    api = subprocess.Popen([str(ROOT / ".venv/bin/modelwatch"), "serve", "--port", str(port)],
                           env={**stack.env, **(extra_env or {})},
                           stdout=open(stack.logs / "api.log", "ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: api.poll() is not None or answers(f"{base}/healthz"), 90, "the API to answer")
        assert api.poll() is None, (stack.logs / "api.log").read_text()
        yield base
    finally:
        api.terminate()
        try:
            api.wait(10)
        except subprocess.TimeoutExpired:  # uvicorn waits for open streams; the test is over
            api.kill()
            api.wait(5)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def finished_run(base: str, run_id: str, headers: dict) -> dict | None:
    """The run's summary once it succeeded or failed, else None (for ``wait_for``)."""
    summary = httpx.get(f"{base}/v1/runs/{run_id}", headers=headers, timeout=10).json()
    return summary if summary.get("status") in ("succeeded", "failed") else None
