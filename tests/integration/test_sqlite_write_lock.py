"""On SQLite a read that later writes rely on holds the database's write lock from the read on.

Python's sqlite3 runs a SELECT outside any transaction and opens one only at the first write, so
without ``BEGIN IMMEDIATE`` another process's commit could land between a stage's claim reading
the run and writing it, and be overwritten: a run the sweeper had just failed would come back as
``running``. Each test lets a second connection try to fail the run at the moment the first
session's write is about to go out. (A stage body's ``lock_run`` does not take the lock on
SQLite, on purpose: see its docstring.)
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from monitor.db.engine import get_engine
from monitor.db.schema import CheckRun, utcnow
from monitor.spec import parse_spec
from monitor.store import models as store, runs
from monitor.store.common import for_update
from tests.conftest import session

pytestmark = pytest.mark.integration


def _open_run(url: str) -> str:
    spec = parse_spec({"models": [{"name": "m", "task": "binary_classification"}]})[0]
    start = utcnow().replace(microsecond=0)
    with session(url) as s:
        model, _ = store.upsert_model(s, spec)
        run, _ = runs.open_run(s, model_id=model.id, model_name="m", version=None, trigger="manual",
                               start=start, end=start + dt.timedelta(hours=1))
        return run.id


def _fail_from_another_process_before_the_update(url: str, run_id: str) -> list[str]:
    """Arm a hook: just before the engine's next UPDATE of check_runs, another connection (no
    busy wait) tries to fail the run. Returns the list the outcome is appended to."""
    outcome: list[str] = []
    engine = get_engine(url)

    def before(conn, cursor, statement, parameters, context, executemany):
        if outcome or not statement.lstrip().upper().startswith("UPDATE CHECK_RUNS"):
            return
        other = sqlite3.connect(make_url(url).database, timeout=0)
        try:
            other.execute("UPDATE check_runs SET status = 'failed', error = 'swept' WHERE id = ?", (run_id,))
            other.commit()
            outcome.append("other writer committed")
        except sqlite3.OperationalError as exc:
            outcome.append(f"other writer refused: {exc}")
        finally:
            other.close()

    event.listen(engine, "before_cursor_execute", before)
    return outcome


def test_a_stage_claim_holds_the_write_lock_from_its_read(sqlite_url):
    run_id = _open_run(sqlite_url)
    outcome = _fail_from_another_process_before_the_update(sqlite_url, run_id)
    with session(sqlite_url) as s:
        claim = runs.claim_stage(s, run_id, "collect")
    assert outcome == ["other writer refused: database is locked"]
    assert claim.attempts == 1
    with session(sqlite_url) as s:
        run = s.scalar(select(CheckRun).where(CheckRun.id == run_id))
        assert (run.status, run.stages["collect"]["state"]) == ("running", "running")


def test_a_read_for_update_holds_the_write_lock_until_the_transaction_writes(sqlite_url):
    run_id = _open_run(sqlite_url)
    outcome = _fail_from_another_process_before_the_update(sqlite_url, run_id)
    with session(sqlite_url) as s:
        run = s.scalar(for_update(select(CheckRun).where(CheckRun.id == run_id), s))
        run.error = "noted"
    assert outcome == ["other writer refused: database is locked"]
