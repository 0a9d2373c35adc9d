"""Health probes of the models' serving endpoints, on their own ``probes`` queue.

A probe waits on someone else's network for up to its timeout; on its own queue it never holds
up a check, and a deployment can give it a worker of its own (``-Q probes``).
"""

from __future__ import annotations

from dataclasses import asdict

from monitor.service import probes
from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.store import models as store_models, operations
from tasks.base import RELIABLE
from workers.app import app


@app.task(name="tasks.probes.dispatch_probes", **RELIABLE)
def dispatch_probes() -> dict:
    """Beat's tick: send one probe per model whose current slot has no result yet.

    Two beats (or a tick that comes round before the last probe finished) may send a slot twice;
    the unique (model, slot) keeps one result, and a probe is a harmless GET.
    """
    with session_scope(get_settings().effective_database_url) as session:
        due = probes.due_targets(session)
    for target in due:
        probe.apply_async((target.model, target.slot), expires=target.every)
    return {"sent": [{"model": t.model, "slot": t.slot} for t in due]}


@app.task(name="tasks.probes.probe", soft_time_limit=120, time_limit=150, **RELIABLE)
def probe(model_name: str, slot: int) -> dict:
    """GET the model's health URL once and store what happened under ``slot``."""
    url = get_settings().effective_database_url
    with session_scope(url) as session:
        model = store_models.get_model(session, model_name)
        service = store_models.spec_of(model).service
        model_id = model.id
        if service is None or operations.probed_slot(session, model_id, slot):
            return {"model": model_name, "slot": slot, "skipped": True}
    outcome = probes.probe(service.health_url, service.probe_timeout)
    with session_scope(url) as session:
        stored = operations.save_probe(session, model_id, slot, asdict(outcome))
    return {"model": model_name, "slot": slot, "ok": outcome.ok, "status_code": outcome.status_code,
            "latency_ms": outcome.latency_ms, "stored": stored}
