"""A run's stages back to back in one worker process (``tasks.check.run_stages``): every stage
keeps its own claim, so a worker killed between two stages, a transient error in the middle of a
run and a permanent one after a stage each leave the run where a chain of six tasks left it; the
per-stage messages an earlier version queued still finish their runs."""

from __future__ import annotations

import json
import os
import signal

import pytest
from celery import Celery, chain
from sqlalchemy import select

from frontdoors.demo.receiver import WebhookReceiver
from monitor.db.schema import CheckRun, Notification, RecoveryAction
from monitor.errors import TransientError
from tests.conftest import session, wait_for
from tests.support.scenario import MODEL, seed_dropped_version, seed_fraud
from workers.celeryconfig import build_config

pytestmark = pytest.mark.integration

ORDER = ("collect", "evaluate", "detect", "alert", "schedule_recovery", "report")


def _run(url: str) -> CheckRun | None:
    with session(url) as s:
        run = s.scalar(select(CheckRun).where(CheckRun.trigger == "manual"))
        if run is not None:
            s.expunge(run)
        return run


def _finished(url: str) -> CheckRun | None:
    run = _run(url)
    return run if run is not None and run.status in ("succeeded", "failed") else None


def _stage_state(url: str, stage: str) -> str | None:
    run = _run(url)
    return ((run.stages or {}).get(stage) or {}).get("state") if run is not None else None


def test_a_worker_killed_between_two_stages_resumes_at_the_next_and_runs_each_stage_once(redis_stack, tmp_path):
    stack, url = redis_stack, redis_stack.database_url
    with WebhookReceiver() as hook:
        seed_dropped_version(stack, tmp_path, hook.url)

        # One pool process, so the copy Redis restores after the visibility timeout waits for
        # the next worker instead of going to this one's other process.
        first = stack.worker("w1", {"MODELWATCH_FAILPOINTS": "detect.after=sleep(60)"}, concurrency=1)
        stack.celery("call", "tasks.check.run_check", "--args", json.dumps([MODEL]))
        wait_for(lambda: _stage_state(url, "detect") == "succeeded", 60, "detect to commit")
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        assert "alert" not in _run(url).stages  # killed between detect and alert

        stack.worker("w2")
        run = wait_for(lambda: _finished(url), 90, "the redelivered run to finish")
        assert run.status == "succeeded", run.error
        assert {name: entry["attempts"] for name, entry in run.stages.items()} == dict.fromkeys(ORDER, 1)
        log = (stack.logs / "worker-w2.log").read_text(errors="replace")
        assert f"run {run.id}: message redelivered, resuming at alert" in log

        wait_for(lambda: _all_sent(url), 60, "every notification to be delivered")
        action = wait_for(lambda: _action(url, "succeeded"), 60, "the rollback to run")
        assert (action.kind, action.executions) == ("rollback", 1)
        with session(url) as s:
            webhook = s.scalars(select(Notification).where(Notification.channel.like("%webhook"))).all()
            assert webhook and all((n.state, n.attempts) == ("sent", 1) for n in webhook)
        assert len(hook.received) == len(webhook)  # each notification reached the webhook once


def _all_sent(url: str) -> bool:
    with session(url) as s:
        states = s.scalars(select(Notification.state)).all()
        return bool(states) and all(state == "sent" for state in states)


def _action(url: str, state: str):
    with session(url) as s:
        action = s.scalar(select(RecoveryAction).where(RecoveryAction.state == state))
        if action is not None:
            s.expunge(action)
        return action


def test_a_chain_of_per_stage_messages_an_earlier_version_queued_still_finishes_its_run(redis_stack):
    """An upgrade with runs in flight: their next stages wait in Redis as ``tasks.check.<stage>``
    messages, each carrying the rest of its chain. The new worker runs them one stage each."""
    stack, url = redis_stack, redis_stack.database_url
    seed_fraud(url, [], recall=0.9, rows=200, reference_rows=500, seed=7)
    from monitor.check.runs import open_check

    with session(url) as s:
        run_id = open_check(s, MODEL, trigger="manual").run_id
    client = Celery("earlier-version")
    client.config_from_object(build_config(stack.settings()))
    head = {"run_id": run_id, "model": MODEL}
    names = [f"tasks.check.{stage}" for stage in ORDER]
    chain(client.signature(names[0], args=[head], immutable=True),
          *(client.signature(name) for name in names[1:])).apply_async()
    stack.worker("w1")
    run = wait_for(lambda: _finished(url), 90, "the old chain to finish its run")
    assert run.status == "succeeded", run.error
    assert {name: entry["attempts"] for name, entry in run.stages.items()} == dict.fromkeys(ORDER, 1)
    log = (stack.logs / "worker-w1.log").read_text(errors="replace")
    assert all(f"Task {name}[" in log for name in names) and "tasks.check.run_stages[" not in log


def _open(url: str, monkeypatch, failpoints: str = "") -> str:
    """A fraud run opened in this process's database, whose settings the stages will read."""
    from monitor.check.runs import open_check
    from monitor.config import get_settings

    monkeypatch.setenv("MODELWATCH_DATABASE_URL", url)
    monkeypatch.setenv("MODELWATCH_FAILPOINTS", failpoints)
    get_settings.cache_clear()
    seed_fraud(url, [], recall=0.9, rows=200, reference_rows=500, seed=11)
    with session(url) as s:
        return open_check(s, MODEL, trigger="manual").run_id


def test_a_transient_error_retries_the_run_from_the_stage_that_failed(db_url, monkeypatch):
    """Celery's retry of ``run_stages`` (run here in this process, as ``apply`` runs a retry)
    resumes at detect: collect and evaluate are not claimed again, detect is, and the run ends."""
    from monitor.check import stages
    from monitor.config import get_settings
    from tasks.check import run_stages

    run_id = _open(db_url, monkeypatch)
    detect, failures = stages.STAGES["detect"], []

    def detect_once_unreachable(session, run, settings):  # the real body, after one lost connection
        if not failures:
            failures.append(run.id)
            raise TransientError("database unreachable")
        return detect(session, run, settings)

    monkeypatch.setitem(stages.STAGES, "detect", detect_once_unreachable)
    try:
        result = run_stages.apply(args=[{"run_id": run_id, "model": MODEL, "from": "collect"}])
        assert result.successful(), result.traceback
        assert result.result["report"]["status"] == "succeeded"
        assert "collect" not in result.result  # the retry's message started at detect
        with session(db_url) as s:
            run = s.get(CheckRun, run_id)
            attempts = {name: entry["attempts"] for name, entry in run.stages.items()}
            assert run.status == "succeeded"
        assert attempts == {**dict.fromkeys(ORDER, 1), "detect": 2}
    finally:
        get_settings.cache_clear()


def test_a_permanent_error_after_a_stage_fails_the_run_at_that_stage(db_url, monkeypatch):
    """``evaluate.after=raise``: the error comes after evaluate committed, outside any stage body,
    so ``StageTask.on_failure`` fails the run, naming the stage the task was at; detect never runs."""
    from monitor.config import get_settings
    from tasks.check import run_stages

    run_id = _open(db_url, monkeypatch, failpoints="evaluate.after=raise")
    try:
        result = run_stages.apply(args=[{"run_id": run_id, "model": MODEL, "from": "collect"}])
        assert result.failed()
        with session(db_url) as s:
            run = s.get(CheckRun, run_id)
            assert run.status == "failed"
            assert run.error == "evaluate: gave up: FailpointError: failpoint 'evaluate.after' raised on purpose"
            assert run.stages["evaluate"]["state"] == "failed" and "detect" not in run.stages
    finally:
        get_settings.cache_clear()


def test_a_time_limit_in_a_later_stage_goes_on_in_a_new_task_from_that_stage(db_url, monkeypatch):
    """The time limits bound a task, and a stage should have them to itself, as when each stage
    was a task. Celery's soft limit coming during detect (the task started at collect) leaves detect
    ``retrying`` and publishes the run again from detect (``launch``, recorded here; the new task is
    run next in this process), which finishes it instead of failing the run."""
    from celery.exceptions import SoftTimeLimitExceeded

    from monitor.check import stages
    from monitor.config import get_settings
    import tasks.check
    from tasks.check import run_stages

    run_id = _open(db_url, monkeypatch)
    detect, cut, launched = stages.STAGES["detect"], [], []

    def detect_cut_once(session, run, settings):  # the real body, after one time limit
        if not cut:
            cut.append(run.id)
            raise SoftTimeLimitExceeded()
        return detect(session, run, settings)

    monkeypatch.setitem(stages.STAGES, "detect", detect_cut_once)
    monkeypatch.setattr(tasks.check, "launch", lambda run_id, model, from_stage: launched.append(from_stage))
    try:
        first = run_stages.apply(args=[{"run_id": run_id, "model": MODEL, "from": "collect"}])
        assert first.successful(), first.traceback
        assert first.result["continued_at"] == "detect" and launched == ["detect"]
        assert _run(db_url).stages["detect"]["state"] == "retrying"
        second = run_stages.apply(args=[{"run_id": run_id, "model": MODEL, "from": "detect"}])
        assert second.successful(), second.traceback
        run = _run(db_url)
        assert run.status == "succeeded"
        assert {name: entry["attempts"] for name, entry in run.stages.items()} == {**dict.fromkeys(ORDER, 1),
                                                                                "detect": 2}
    finally:
        get_settings.cache_clear()


def test_an_interruption_leaves_the_stage_retrying_and_the_run_open(db_url, monkeypatch):
    """``run_stage``'s ``interruptions`` (what ``run_stages`` passes for a time limit) mark the
    stage ``retrying`` and re-raise as they are; any other error in the body fails the run."""
    from monitor.check import stages
    from monitor.config import get_settings

    class Interrupted(Exception):
        pass

    def cut(session, run, settings):
        raise Interrupted("the time limit")

    run_id = _open(db_url, monkeypatch)
    settings = get_settings()
    stages.run_stage(settings, run_id, "collect", stages.STAGES["collect"])
    with pytest.raises(Interrupted):
        stages.run_stage(settings, run_id, "evaluate", cut, (Interrupted,))
    run = _run(db_url)
    assert run.status != "failed" and run.stages["evaluate"]["state"] == "retrying"
    assert stages.run_stage(settings, run_id, "evaluate", stages.STAGES["evaluate"])  # it goes on
    with pytest.raises(stages.StageError, match="Interrupted: the time limit"):
        stages.run_stage(settings, run_id, "detect", cut)
    assert _run(db_url).status == "failed"
