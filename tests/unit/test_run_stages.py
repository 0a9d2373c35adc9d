"""Where a run's message starts and at which priority (``tasks.check.run_stages``), and where a
redelivered or re-driven run goes on (``monitor.check.progress``)."""

from __future__ import annotations

import doctest

import pytest

from monitor.check import progress, redrive
from monitor.config import Settings
from monitor.db.schema import CheckRun
from tasks import check, publish
from workers import celeryconfig
from workers.celeryconfig import PRIORITY_FORCED, RUN_STAGES, STAGE_PRIORITIES, build_config, run_priority

DONE = {"state": "succeeded", "started_at": "2026-12-03T21:00:00+00:00"}
CLAIMED = {"state": "running", "started_at": "2026-12-03T21:00:01+00:00"}


@pytest.mark.parametrize("module", [check, publish, celeryconfig, progress, redrive])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0


@pytest.mark.parametrize(("entries", "expected"), [
    ({}, "collect"),
    ({"collect": CLAIMED}, "collect"),  # died inside collect
    ({"collect": DONE}, "evaluate"),  # between collect and evaluate: nothing to send again
    ({"collect": DONE, "evaluate": DONE, "detect": DONE}, "alert"),
    # alert committed, schedule_recovery never claimed: alert's notifications may be unsent
    ({"collect": DONE, "evaluate": DONE, "detect": DONE, "alert": DONE}, "alert"),
    ({"collect": DONE, "evaluate": DONE, "detect": DONE, "alert": DONE, "schedule_recovery": CLAIMED},
     "schedule_recovery"),
    ({"collect": DONE, "evaluate": DONE, "detect": DONE, "alert": DONE, "schedule_recovery": DONE},
     "schedule_recovery"),
    # a sweeper's re-drive mark is not a claim
    ({"collect": DONE, "evaluate": DONE, "detect": DONE, "alert": DONE,
      "schedule_recovery": {"redrives": 1, "redriven_at": "2026-12-03T21:05:00+00:00"}}, "alert"),
    ({"collect": DONE, "evaluate": {"state": "retrying", **CLAIMED}}, "evaluate"),
    ({name: DONE for name in check.ORDER}, "report"),
])
def test_a_stopped_run_resumes_at_its_first_unfinished_stage_or_the_hand_off_before_it(entries, expected):
    assert progress.resume_at(entries) == expected
    # one answer for both paths: a redelivered message (run_stages) and the sweeper's re-drive
    assert check.resume_at is progress.resume_at
    assert redrive.resume_at is progress.resume_at


@pytest.mark.parametrize(("entries", "expected"), [
    ({}, "collect"),
    ({"collect": DONE, "evaluate": DONE, "detect": DONE, "alert": DONE}, "schedule_recovery"),
    ({"collect": DONE, "evaluate": DONE, "detect": DONE, "alert": DONE, "schedule_recovery": CLAIMED},
     "schedule_recovery"),
    ({name: DONE for name in check.ORDER}, "report"),
])
def test_the_first_unfinished_stage_is_the_one_that_may_be_running(entries, expected):
    assert progress.first_unfinished(entries) == expected


def test_a_run_resuming_at_a_hand_off_gets_the_short_bound_and_a_running_next_stage_the_long_one():
    """``idle_limit`` asks whether the first unfinished stage runs, not the resume stage: a run
    resuming at alert (succeeded) has nothing running; once schedule_recovery is claimed it may be
    alive for the task time limit, until a re-drive of it (then the short bound again)."""
    settings = Settings(redrive_after=60, task_time_limit=360)
    before = {"collect": DONE, "evaluate": DONE, "detect": DONE, "alert": DONE}
    assert redrive.idle_limit(CheckRun(stages=before), settings).total_seconds() == 60
    claimed = {**before, "schedule_recovery": CLAIMED}
    assert redrive.idle_limit(CheckRun(stages=claimed), settings).total_seconds() == 420
    redriven = {**before, "schedule_recovery": {**CLAIMED, "redrives": 1, "redriven_at": "2026-12-03T21:09:00+00:00"}}
    assert redrive.idle_limit(CheckRun(stages=redriven), settings).total_seconds() == 60


def test_a_run_starts_at_its_collects_priority_and_goes_on_at_its_stages():
    routes = build_config(Settings())["task_routes"]
    assert routes[RUN_STAGES] == {"queue": "checks", "priority": STAGE_PRIORITIES["tasks.check.collect"]}
    assert all(routes[name]["priority"] == priority for name, priority in STAGE_PRIORITIES.items())
    assert run_priority("collect", forced=True) == PRIORITY_FORCED < run_priority("collect")
    # every later stage, forced or not, goes before any collect
    later = [run_priority(stage, forced) for stage in check.ORDER[1:] for forced in (False, True)]
    assert max(later) < PRIORITY_FORCED


def test_every_stage_has_a_per_stage_task_for_the_messages_an_earlier_version_queued():
    from workers.app import app

    assert {f"tasks.check.{stage}" for stage in check.ORDER} | {RUN_STAGES} <= set(app.tasks)
    assert check.ORDER == ("collect", "evaluate", "detect", "alert", "schedule_recovery", "report")
    assert set(check.HAND_OFFS) == {"alert", "schedule_recovery", "report"}
    # the resume rule knows every stage that hands work on (else its hand-offs die with a worker)
    assert set(check.HAND_OFFS) == progress.HAND_OFF_STAGES
