"""Where a run's message starts and at which priority (``tasks.check.run_stages``)."""

from __future__ import annotations

import doctest

import pytest

from monitor.config import Settings
from tasks import check, publish
from workers import celeryconfig
from workers.celeryconfig import PRIORITY_FORCED, RUN_STAGES, STAGE_PRIORITIES, build_config, run_priority

DONE = {"state": "succeeded", "started_at": "2026-12-03T21:00:00+00:00"}
CLAIMED = {"state": "running", "started_at": "2026-12-03T21:00:01+00:00"}


@pytest.mark.parametrize("module", [check, publish, celeryconfig])
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
def test_a_redelivered_run_resumes_at_its_first_unfinished_stage_or_the_hand_off_before_it(entries, expected):
    assert check.resume_at(entries) == expected


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
