"""Runs whose chain was lost are re-driven from where they resume (their first unfinished stage,
or the hand-off stage before it), counted, and ended (issue 12, finding 3): the sweeper's rule on
the database, a real chain that loses its messages to a Redis restarted empty and still ends with
one report and one notification per alert change, and a run lost between alert's commit and its
publishes on the embedded default, whose notification the re-drive delivers once."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal

import pytest
from celery import Celery
from click.testing import CliRunner
from sqlalchemy import select

from frontdoors.cli import main
from frontdoors.demo.receiver import WebhookReceiver
from monitor.check import redrive
from monitor.config import Settings, get_settings
from monitor.db.migrate import upgrade
from monitor.db.schema import AuditEvent, CheckRun, Notification, Report, utcnow
from monitor.spec import parse_spec
from monitor.store import models as store, runs
from tests.conftest import session, wait_for
from tests.support.scenario import MODEL, seed_fraud
from workers.celeryconfig import build_config

pytestmark = pytest.mark.integration


def _open(url: str, created: dt.datetime, done: tuple[str, ...] = (), running: str | None = None,
          at: dt.datetime | None = None) -> str:
    """A run opened at ``created`` whose stages ``done`` succeeded at ``at`` (and ``running`` started then)."""
    spec = parse_spec({"models": [{"name": "m", "task": "binary_classification"}]})[0]
    with session(url) as s:
        model, _ = store.upsert_model(s, spec)
        run, _ = runs.open_run(s, model_id=model.id, model_name="m", version=None, trigger="manual",
                               start=created - dt.timedelta(hours=1), end=created, rerun=True)
        run.created_at = created
        for stage in done:
            runs.mark_stage(s, run, stage, "succeeded", started_at=at.isoformat(), finished_at=at.isoformat())
        if running:
            runs.mark_stage(s, run, running, "running", started_at=at.isoformat())
        return run.id


def test_the_sweep_finds_open_runs_through_their_partial_index_and_only_them(db_url):
    from monitor.db.engine import get_engine

    now = utcnow().replace(microsecond=0)
    lost = _open(db_url, now - dt.timedelta(hours=2))
    finished = _open(db_url, now - dt.timedelta(hours=2))
    _open(db_url, now)  # open, but too young to judge
    with session(db_url) as s:
        s.get(CheckRun, finished).status = "succeeded"
    query = redrive.open_runs_before(now - dt.timedelta(minutes=5))
    with session(db_url) as s:
        assert [row.id for row in s.execute(query)] == [lost]
    engine = get_engine(db_url)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        else:  # a handful of rows: make the planner say whether the index can serve the query at all
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_check_runs_open" in plan, plan


def test_the_sweep_redrives_each_lost_run_once_per_bound_and_fails_it_past_the_limit(db_url):
    settings = Settings(database_url=db_url, redrive_after=60, redrive_limit=2, task_time_limit=360)
    now = utcnow()
    ago = lambda seconds: now - dt.timedelta(seconds=seconds)  # noqa: E731
    never_published = _open(db_url, ago(600))
    lost_after_evaluate = _open(db_url, ago(900), done=("collect", "evaluate"), at=ago(600))
    maybe_alive = _open(db_url, ago(900), done=("collect",), running="evaluate", at=ago(200))
    dead_worker = _open(db_url, ago(900), done=("collect",), running="evaluate", at=ago(500))
    young = _open(db_url, ago(30))  # its first stage may still be queued
    with session(db_url) as s:
        names = {m.id: m.name for m in store.list_models(s)}
        first = {r.run_id: r.stage for r in redrive.find(s, settings, names, now=now)}
    assert first == {never_published: "collect", lost_after_evaluate: "detect", dead_worker: "evaluate"}
    assert maybe_alive not in first  # a running stage gets task_time_limit more

    with session(db_url) as s:  # a re-drive is progress: the next sweep leaves them for redrive_after
        assert redrive.find(s, settings, names, now=now + dt.timedelta(seconds=30)) == []
        run = runs.get_run(s, lost_after_evaluate)
        assert run.stages["detect"]["redrives"] == 1 and run.stages["evaluate"]["state"] == "succeeded"
        assert redrive.run_redrives(run) == 1
        second = redrive.find(s, settings, names, now=now + dt.timedelta(seconds=61))
    assert {r.run_id for r in second} == {never_published, lost_after_evaluate, dead_worker, young}

    with session(db_url) as s:  # past redrive_limit a run ends, with the reason
        third = redrive.find(s, settings, names, now=now + dt.timedelta(seconds=122))
        assert [r.run_id for r in third] == [young]  # its second re-drive
        ended = runs.get_run(s, lost_after_evaluate)
        assert ended.status == "failed" and "no progress after 2 re-drives" in ended.error
        counted = redrive.counts(s)
    model_id = next(iter(names))
    assert counted == {(model_id, "collect"): 4, (model_id, "detect"): 2, (model_id, "evaluate"): 2}

    from frontdoors.api.metrics import render

    with session(db_url) as s:
        text = render(s)
    assert 'modelwatch_runs_redriven_total{model="m",stage="detect"} 2.0' in text
    assert 'modelwatch_runs_redriven_total{model="m",stage="report"} 0.0' in text


def test_a_run_lost_after_a_hand_off_stage_is_redriven_from_it_while_its_next_stage_never_started(db_url):
    """Alert committed and its worker died (its notifications maybe unsent): the re-drive publishes
    alert again, not schedule_recovery; once schedule_recovery was claimed, from there."""
    settings = Settings(database_url=db_url, redrive_after=60, task_time_limit=360)
    now = utcnow()
    ago = lambda seconds: now - dt.timedelta(seconds=seconds)  # noqa: E731
    before_publishes = _open(db_url, ago(900), done=("collect", "evaluate", "detect", "alert"), at=ago(600))
    in_recovery = _open(db_url, ago(900), done=("collect", "evaluate", "detect", "alert"),
                        running="schedule_recovery", at=ago(600))
    with session(db_url) as s:
        found = {r.run_id: r.stage for r in redrive.find(s, settings, {}, now=now)}
    assert found == {before_publishes: "alert", in_recovery: "schedule_recovery"}
    with session(db_url) as s:
        run = runs.get_run(s, before_publishes)
        assert run.stages["alert"]["redrives"] == 1 and run.stages["alert"]["state"] == "succeeded"
        assert "schedule_recovery" not in run.stages  # nothing claimed: a re-drive lost again goes back to alert
        again = redrive.find(s, Settings(database_url=db_url, redrive_after=60, redrive_limit=1),
                             {}, now=now + dt.timedelta(seconds=61))
        assert again == []  # past the limit: failed at the stage that never ran, alert stays succeeded
        ended = runs.get_run(s, before_publishes)
        assert ended.status == "failed" and ended.error.startswith("schedule_recovery: no progress after 1 re-drives")
        assert ended.stages["alert"]["state"] == "succeeded"


def test_a_run_lost_between_alerts_commit_and_its_publishes_is_redriven_from_alert_and_notifies_once(
        embedded_stack, monkeypatch):
    """The embedded default cannot redeliver: a worker that died after the alert stage committed,
    before it published the notifications, leaves only the run's row. The sweeper re-drives the
    run from alert, whose stored output has the task publish them; each reaches the webhook once.
    The notification sweep's grace is an hour here, so only the re-drive can deliver them."""
    from monitor.check import stages
    from monitor.check.runs import open_check

    stack, url = embedded_stack, embedded_stack.database_url
    stack.env.update({"MODELWATCH_REDRIVE_AFTER": "3", "MODELWATCH_SWEEP_INTERVAL": "1",
                      "MODELWATCH_RECOVERY_GRACE": "3600", "MODELWATCH_STREAM_INTERVAL": "0",
                      "MODELWATCH_DISPATCH_INTERVAL": "3600", "MODELWATCH_PROBE_INTERVAL": "3600"})
    monkeypatch.setenv("MODELWATCH_DATA_DIR", stack.env["MODELWATCH_DATA_DIR"])  # this process's stages
    get_settings.cache_clear()
    upgrade(url)
    with WebhookReceiver() as hook:
        seed_fraud(url, [{"webhook": {"url": hook.url, "secret": "s3cret"}}], recall=0.4, rows=400,
                   reference_rows=1500, seed=5)
        # What the dead worker did: collect to alert, each through its real claim and transaction,
        # and no publish (the hand-offs run in tasks.check, which is not called here).
        with session(url) as s:
            run_id = open_check(s, MODEL, trigger="manual").run_id
        for name in ("collect", "evaluate", "detect", "alert"):
            stages.run_stage(get_settings(), run_id, name, stages.STAGES[name])
        with session(url) as s:
            assert s.scalars(select(Notification.state)).all()  # the alert stage made notifications ...
            assert set(s.scalars(select(Notification.state))) == {"pending"}  # ... and none went out

        stack.beat()
        stack.worker("w1")
        run = wait_for(lambda: _finished(url), 60, "the sweeper to re-drive the run to its end")
        assert run.status == "succeeded", run.error
        wait_for(lambda: _all_sent(url), 30, "the re-drive to publish the alert's notifications")
        assert run.stages["alert"]["redrives"] >= 1 and run.stages["alert"]["attempts"] == 1
        with session(url) as s:
            sent = s.scalars(select(Notification).where(Notification.channel.like("%webhook"))).all()
            assert sent and all((n.state, n.attempts) == ("sent", 1) for n in sent)
            stages_redriven = {e.details["stage"] for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == redrive.ACTION))}
        assert stages_redriven == {"alert"}
        wait_for(lambda: len(hook.received) >= len(sent), 10, "the webhook to receive them")
        assert len(hook.received) == len(sent)  # each notification reached the webhook once


def test_a_chain_lost_to_a_redis_restart_is_redriven_to_one_report(redis_stack, redis_server, monkeypatch):
    stack, url = redis_stack, redis_stack.database_url
    # Re-drive after 6 s of no progress, swept every second; beat's other schedules kept quiet.
    stack.env.update({"MODELWATCH_REDRIVE_AFTER": "6", "MODELWATCH_SWEEP_INTERVAL": "1",
                      "MODELWATCH_RECOVERY_GRACE": "3", "MODELWATCH_STREAM_INTERVAL": "0",
                      "MODELWATCH_DISPATCH_INTERVAL": "3600", "MODELWATCH_PROBE_INTERVAL": "3600"})
    upgrade(url)
    with WebhookReceiver() as hook:
        seed_fraud(url, [{"webhook": {"url": hook.url, "secret": "s3cret"}}], recall=0.4, rows=400,
                   reference_rows=1500, seed=5)

        # The worker holds the evaluate message after evaluate committed; it dies, and Redis
        # comes back empty: no message anywhere moves the run on.
        stack.beat()
        first = stack.worker("w1", {"MODELWATCH_FAILPOINTS": "evaluate.after=sleep(60)"})
        client = Celery("publisher")  # publishing in this process saves a `celery call` process
        client.config_from_object(build_config(stack.settings()))
        client.send_task("tasks.check.run_check", args=[MODEL])
        wait_for(lambda: _stage_state(url, "evaluate") == "succeeded", 60, "evaluate to commit")
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        redis_server["restart"]()

        stack.worker("w2")
        run = wait_for(lambda: _finished(url), 90, "the sweeper to re-drive the run to its end")
        assert run.status == "succeeded", run.error
        # re-driven from detect (a busy queue may cost a second, harmless, re-drive); evaluate ran once
        assert run.stages["detect"]["redrives"] >= 1 and run.stages["evaluate"]["attempts"] == 1
        wait_for(lambda: _all_sent(url), 60, "every notification to be delivered")
        with session(url) as s:
            assert s.scalar(select(Report.id).where(Report.run_id == run.id)) is not None
            sent = s.scalars(select(Notification).where(Notification.channel.like("%webhook"))).all()
            assert sent and all(n.attempts == 1 for n in sent)
        assert len(hook.received) == len(sent)  # each notification reached the webhook once

    monkeypatch.setenv("MODELWATCH_DATABASE_URL", url)  # `modelwatch status --json`, in this process
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["status", "--json"], catch_exceptions=False)
    status = json.loads(result.stdout)["models"][0]
    assert status["redrives"] >= 1 and status["last_status"] == "succeeded"
    from monitor.check.summary import build_summary

    with session(url) as s:  # the run's JSON (GET /v1/runs/{id}) says it too
        summary = build_summary(s, runs.get_run(s, run.id))
    assert summary["redrives"] == redrive.run_redrives(run) >= 1


def _stage_state(url: str, stage: str) -> str | None:
    with session(url) as s:
        stages = s.scalar(select(CheckRun.stages).where(CheckRun.trigger == "manual"))
        return ((stages or {}).get(stage) or {}).get("state")


def _finished(url: str):
    """The forced run (not the rollback's follow-up check), once it ended."""
    with session(url) as s:
        run = s.scalar(select(CheckRun).where(CheckRun.trigger == "manual"))
        if run is not None and run.status in ("succeeded", "failed"):
            s.expunge(run)
            return run
        return None


def _all_sent(url: str) -> bool:
    with session(url) as s:
        states = s.scalars(select(Notification.state)).all()
        return bool(states) and all(state == "sent" for state in states)


def test_a_copy_of_a_stage_delivered_while_the_original_runs_waits_and_reuses_its_output(postgres_url):
    """A stage longer than the visibility timeout is delivered again while it runs (or re-driven):
    the copy waits on the run's row, then returns the original's output; the body runs once."""
    import threading
    import time

    from monitor.check import stages
    from monitor.db.migrate import upgrade as migrate

    migrate(postgres_url)
    run_id = _open(postgres_url, utcnow())
    settings = Settings(database_url=postgres_url)
    calls = []

    def slow_collect(session, run, settings):  # stands in for a long stage body; the locking is real
        calls.append(run.id)
        time.sleep(1.5)
        return {"rows": 7}

    outputs = []
    original = threading.Thread(target=lambda: outputs.append(
        stages.run_stage(settings, run_id, "collect", slow_collect)))
    original.start()
    time.sleep(0.5)  # the original holds the run's row
    outputs.append(stages.run_stage(settings, run_id, "collect", slow_collect))
    original.join()
    assert outputs == [{"rows": 7}, {"rows": 7}] and len(calls) == 1
    with session(postgres_url) as s:
        entry = runs.get_run(s, run_id).stages["collect"]
    assert (entry["state"], entry["attempts"]) == ("succeeded", 1)
