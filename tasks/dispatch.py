"""Beat's dispatcher: one check chain per model that is due, opened and published in batches.

The fleet is read once, then each batch of ``monitor.check.runs.CHUNK`` due runs is opened in
its own transaction and its chains are published (through the app's pool of broker connections) before the next
batch is opened (``monitor.check.runs.open_due_in_batches``): with 10,000 models the first checks
start while later batches are still being published, and memory holds one batch's chains at a
time. Each batch's runs are noted as queued in the broker in one round trip
(``workers.queued_runs``), so the sweeper leaves them alone however long the queue. If the
process dies between a batch's commit and a publish, that run stays ``pending`` with no message
and no note, and the sweeper launches it (``monitor.check.redrive``), as for any lost publish;
models of batches not opened yet are still due at the next beat.

A dispatch that outlasts beat's interval is not joined by the next one: the next finds the
``dispatch`` lock taken (``monitor.db.locks``) and returns at once.
"""

from __future__ import annotations

from monitor.check.runs import open_due_in_batches
from monitor.config import get_settings
from monitor.db.locks import exclusive
from tasks.base import RELIABLE
from tasks.publish import launch_many
from workers.app import app

#: the ``started`` models named in the task's result (the worker logs it; the count is exact)
NAMED = 20
LOCK = "dispatch"


@app.task(name="tasks.dispatch.dispatch_due", **RELIABLE)
def dispatch_due() -> dict:
    url = get_settings().effective_database_url
    started, named, batches = 0, [], 0
    with exclusive(url, LOCK) as held:
        if not held:
            return {"started": 0, "skipped": "another dispatch is running"}
        for opened in open_due_in_batches(url):
            batches += 1
            started += launch_many([(run.run_id, run.model) for run in opened])
            named += [run.model for run in opened[:NAMED - len(named)]]
    return {"started": started, "batches": batches, "models": named}
