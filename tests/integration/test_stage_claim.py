"""A stage's claim right after the same process finished the run's previous stage: one conditional
UPDATE against the row as this process wrote it (``store.runs.claim_stage``'s ``written``), which
must give way to any write of another process in between, so that a stage another process holds
or finished is never claimed as if it were free (docs/architecture.md, "Exactly once")."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import event

from benchmarks.fleet_models import register_small_models
from monitor.check import stages
from monitor.check.runs import open_check
from monitor.config import Settings
from monitor.db.engine import get_engine
from monitor.store import runs as store_runs
from tests.conftest import ROOT, session

import pytest

pytestmark = pytest.mark.integration

#: another process, on the same database: it claims the run's evaluate, or runs the whole stage
_OTHER = """
import sys
from monitor.check import stages
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.store import runs
url, run_id, what = sys.argv[1:]
if what == "claim":
    with session_scope(url) as s:
        assert runs.claim_stage(s, run_id, "evaluate").attempts == 1
else:
    stages.run_stage(Settings(database_url=url), run_id, "evaluate", stages.evaluate)
"""


def _other_process(url: str, run_id: str, what: str) -> None:
    subprocess.run([sys.executable, "-c", _OTHER, url, run_id, what], cwd=ROOT, check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


def _collected(url: str) -> str:
    """A small model's run whose collect this process ran (so it knows the row it wrote)."""
    name = register_small_models(url, 1)[0]
    with session(url) as s:
        run_id = open_check(s, name, trigger="manual").run_id
    stages.run_stage(Settings(database_url=url), run_id, "collect", stages.collect)
    return run_id


def _evaluate_entry(url: str, run_id: str) -> dict:
    with session(url) as s:
        return dict(store_runs.get_run(s, run_id).stages["evaluate"])


def test_the_next_stage_of_a_run_this_process_advanced_is_claimed_by_one_update(db_url):
    run_id = _collected(db_url)
    seen: list[str] = []
    listener = lambda conn, cursor, statement, *rest: seen.append(" ".join(statement.split()))  # noqa: E731
    event.listen(get_engine(db_url), "before_cursor_execute", listener)
    try:
        stages.run_stage(Settings(database_url=db_url), run_id, "evaluate", stages.evaluate)
    finally:
        event.remove(get_engine(db_url), "before_cursor_execute", listener)
    claim, body = seen[0], seen[1]  # no BEGIN IMMEDIATE, no locked read before the UPDATE
    assert claim.startswith("UPDATE check_runs SET") and "CAST(check_runs.stages AS TEXT) = CAST(" in claim, seen[:2]
    assert body.startswith("SELECT check_runs.") and "JOIN models" in body, seen[:2]  # the body's lock_run
    entry = _evaluate_entry(db_url, run_id)
    assert (entry["state"], entry["attempts"]) == ("succeeded", 1)


def test_a_stage_another_process_finished_meanwhile_is_not_run_again(db_url):
    run_id = _collected(db_url)
    _other_process(db_url, run_id, "run")  # evaluate done elsewhere after this process wrote collect's mark
    finished = _evaluate_entry(db_url, run_id)
    assert finished["state"] == "succeeded"
    ran = []
    output = stages.run_stage(Settings(database_url=db_url), run_id, "evaluate",
                              lambda *args: ran.append(args) or {"ran": "here"})
    assert not ran and output == finished["output"]
    assert _evaluate_entry(db_url, run_id) == finished  # not claimed again, nor overwritten


def test_a_stage_another_process_holds_is_claimed_as_its_second_attempt(db_url):
    run_id = _collected(db_url)
    _other_process(db_url, run_id, "claim")  # evaluate marked running by another process
    held = _evaluate_entry(db_url, run_id)
    assert (held["state"], held["attempts"]) == ("running", 1)
    stages.run_stage(Settings(database_url=db_url), run_id, "evaluate", stages.evaluate)
    entry = _evaluate_entry(db_url, run_id)
    # the locked read saw the other's claim: this copy is attempt 2 (a claim against this
    # process's own view of the row would have written attempt 1 over it)
    assert (entry["state"], entry["attempts"]) == ("succeeded", 2)
