"""The alert stage hands ``notify.plan`` the alerts it holds (``planned``) instead of the plan
reading them again: the same selection as the plan's own query, open ones and those resolved now,
by id."""

from __future__ import annotations

import doctest

from monitor.alerts import notify
from monitor.db.schema import Alert


def test_the_notify_doctests_hold():
    assert doctest.testmod(notify).failed == 0


def test_planned_takes_the_open_and_the_just_resolved_alerts_in_id_order():
    held = [Alert(id=7, state="acknowledged"), Alert(id=2, state="firing"), Alert(id=5, state="resolved"),
            Alert(id=4, state="resolved"), Alert(id=9, state="firing")]
    assert [a.id for a in notify.planned(held, resolved=[4])] == [2, 4, 7, 9]  # 5 resolved by an earlier run
    assert [a.id for a in notify.planned(held, resolved=[4], only=[9, 4, 5])] == [4, 9]
    assert notify.planned([], resolved=[]) == []
