"""Beat's dispatcher: one check chain per model that is due, opened and published in batches.

All due runs are opened in one transaction (``monitor.check.runs.open_due_runs``: a query for
the fleet, a lookup and an insert per chunk of models), then their chains are published over one
broker connection. If the process dies between the commit and a publish, that run stays
``pending`` and the sweep launches it (``monitor.recovery.sweep``), as for any lost publish.
"""

from __future__ import annotations

from monitor.check.runs import open_due_runs
from monitor.config import get_settings
from monitor.db.engine import session_scope
from tasks.base import RELIABLE
from tasks.publish import launch
from workers.app import app

#: the ``started`` models named in the task's result (the worker logs it; the count is exact)
NAMED = 20


@app.task(name="tasks.dispatch.dispatch_due", **RELIABLE)
def dispatch_due() -> dict:
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        opened = open_due_runs(session)
    with app.producer_or_acquire() as producer:
        for run in opened:
            launch(run.run_id, run.model, producer=producer)
    return {"started": len(opened), "models": [run.model for run in opened[:NAMED]]}
