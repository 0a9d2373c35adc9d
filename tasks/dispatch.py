"""Beat's dispatcher: one check chain per model that is due."""

from __future__ import annotations

from monitor.check.runs import due_models, open_check
from monitor.config import get_settings
from monitor.db.engine import session_scope
from tasks.base import RELIABLE
from tasks.publish import launch
from workers.app import app


@app.task(name="tasks.dispatch.dispatch_due", **RELIABLE)
def dispatch_due() -> dict:
    settings = get_settings()
    started = []
    with session_scope(settings.effective_database_url) as session:
        names = due_models(session)
    for name in names:
        with session_scope(settings.effective_database_url) as session:
            opened = open_check(session, name, trigger="schedule")
        if opened.created:
            launch(opened.run_id, name)
            started.append({"model": name, "run_id": opened.run_id})
    return {"started": started}
