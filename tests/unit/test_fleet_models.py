"""The fleet benchmark's small models must be the check it claims to measure: a dispatch reads the
*scheduled* window (the last complete ``every``), and the registered rows must all be in it,
whether the dispatch comes in the period of the registration or in the next one (registering
10,000 models takes minutes). Rows in the current period made a dispatch in that period check
empty windows, at about half the CPU of full ones, and the figures depend on the hour of the run."""

from __future__ import annotations

import datetime as dt

import pytest

from benchmarks.fleet_models import ROWS, register_small_models
from monitor.check import stages
from monitor.check.runs import open_check
from monitor.config import Settings
from monitor.db.engine import session_scope


@pytest.mark.parametrize("periods_later", [0, 1], ids=["same period", "next period"])
def test_a_dispatched_check_of_a_small_model_sees_all_its_rows(sqlite_url, periods_later):
    [name] = register_small_models(sqlite_url, 1, multivariate=False)
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=periods_later)  # the models' ``every`` is 1h
    with session_scope(sqlite_url) as session:
        run_id = open_check(session, name, trigger="schedule", now=now).run_id
    collected = stages.run_stage(Settings(database_url=sqlite_url), run_id, "collect", stages.collect)
    assert collected == {"rows": ROWS, "labelled_rows": ROWS}
