"""Run a check's six stages in this process, in order, as the worker would (no broker)."""

from __future__ import annotations

from monitor.check import stages
from monitor.check.runs import open_check
from monitor.config import Settings
from monitor.db.engine import session_scope


def run_chain(settings: Settings, model: str, *, trigger: str = "manual", rerun: bool = True) -> str:
    with session_scope(settings.effective_database_url) as session:
        run_id = open_check(session, model, trigger=trigger, rerun=rerun).run_id
    for name, body in stages.STAGES.items():
        stages.run_stage(settings, run_id, name, body)
    return run_id
