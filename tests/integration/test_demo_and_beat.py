"""`modelwatch demo` as a user runs it, and beat on its own schedule (two beats, one run per window)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.db.schema import CheckRun
from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import ROOT, session, wait_for
from tests.support.scenario import MODEL, write_model, write_window

pytestmark = pytest.mark.integration


def test_demo_tells_the_whole_story_on_the_embedded_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    result = subprocess.run([sys.executable, "-m", "frontdoors.cli.main", "demo", "--data-dir", str(tmp_path / "demo")],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for expected in ("ALERT", "rollback succeeded after 1 execution(s)", "retrain succeeded after 1 execution(s)",
                     "version 3 is serving", "RESOLVED", "4/4 done", "SERVICE ALERT", "Dashboard: http://127.0.0.1:"):
        assert expected in output, f"{expected!r} missing from the demo's output:\n{output}"
    # the "Look around" lines work when pasted as printed (issue 13: `modelwatch` may not be on PATH)
    look = output.split("Look around:")[1].strip().splitlines()
    status = subprocess.run(shlex.split(look[0]), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0 and "churn" in status.stdout, status.stdout + status.stderr
    reports = sorted((tmp_path / "demo" / "reports").glob("*.html"))
    assert len(reports) == 3
    assert all("<svg" in path.read_text() for path in reports)
    api_log = (tmp_path / "demo" / "logs" / "api.log").read_text()
    assert "Application startup complete" in api_log, api_log  # the printed dashboard URL was served


def test_two_beats_schedule_each_window_once(embedded_stack, tmp_path):
    stack, url = embedded_stack, embedded_stack.database_url
    with WebhookReceiver() as hook:
        stack.cli("apply", "-f", str(write_model(tmp_path, hook.url, every="2s")))
        predictions, labels = write_window(tmp_path, version="1", recall=0.9)
        stack.cli("ingest", "predictions", str(predictions), "--model", MODEL)
        stack.cli("ingest", "labels", str(labels), "--model", MODEL)
        stack.worker()
        stack.beat()
        second = dict(stack.env, MODELWATCH_DATA_DIR=stack.env["MODELWATCH_DATA_DIR"])
        from frontdoors import runner

        other = runner.start_beat(second, log=stack.logs / "beat-2.log",
                                  schedule=Path(stack.env["MODELWATCH_DATA_DIR"]) / "beat-schedule-2")
        stack.services.append(other)
        runner.wait_ready(other, "beat: Starting", timeout=60)
        wait_for(lambda: len(_scheduled(url)) >= 3, 60, "three scheduled checks")
    runs = _scheduled(url)
    windows = Counter((r.window_start, r.window_end) for r in runs)
    assert max(windows.values()) == 1, windows
    ends = sorted(r.window_end for r in runs)
    assert all((b - a).total_seconds() % 2 == 0 for a, b in zip(ends, ends[1:]))
    assert all(r.status in ("running", "succeeded", "pending") for r in runs)


def _scheduled(url: str) -> list[CheckRun]:
    with session(url) as s:
        return list(s.scalars(select(CheckRun).where(CheckRun.trigger == "schedule")))
