"""The operational half of a window's service KPIs: health probes and the serving host's resources.

The logs give latency, throughput and errors (``monitor.service.kpis``); this adds what the logs
cannot: whether the endpoint answered at all (``availability``) and how loaded its host was.
Probes count only for a model with ``service.health_url``; host KPIs only when ``modelwatch agent``
sent samples for the model in the window. Both are per model, not per version.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from monitor.db.schema import CheckRun
from monitor.service.host import host_kpis
from monitor.service.probes import availability_kpis
from monitor.spec import ModelSpec
from monitor.store import operations


def operational_kpis(session: Session, run: CheckRun, spec: ModelSpec) -> dict[str, float | None]:
    """Availability KPIs (None when no probe ran) for a probed model, plus host KPIs when sampled."""
    kpis: dict[str, float | None] = {}
    if spec.service is not None:
        kpis.update(availability_kpis(operations.probes_between(session, run.model_id, run.window_start,
                                                                run.window_end)))
    samples = operations.host_samples_between(session, run.model_id, run.window_start, run.window_end)
    if len(samples) or spec.rules.max_cpu_pct is not None or spec.rules.max_memory_pct is not None:
        kpis.update(host_kpis(samples))
    return kpis
