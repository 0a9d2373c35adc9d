"""``POST /v1/host-metrics``: resource samples pushed by ``modelwatch agent --api`` from a serving host.

For hosts that can reach the API but not the database. Each sample is validated on its own: bad
ones are quarantined with their reason and the good ones of the same request are kept; a re-sent
sample (same host and timestamp) counts as a duplicate, so an agent may retry freely.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from frontdoors.api.deps import database_url
from frontdoors.api.security import Principal, writer
from monitor.db.engine import session_scope

router = APIRouter(prefix="/v1", tags=["service monitoring"])


class HostMetricsIn(BaseModel):
    model: str = Field(description="The registered model whose serving host these samples describe.")
    samples: list[Any] = Field(min_length=1, max_length=10_000,
                               description="Objects with ts, host, cpu_pct, memory_pct and optional "
                                           "disk_pct, pid, rss_bytes.")


@router.post("/host-metrics")
def push_host_metrics(body: HostMetricsIn, url: str = Depends(database_url),
                      principal: Principal = Depends(writer)) -> dict[str, Any]:
    """Store a model's host samples (source ``agent``); answers accepted / duplicates / quarantined."""
    from monitor.service.host import parse_samples
    from monitor.store import logs, models as store, operations

    good, bad = parse_samples(body.samples, "agent")
    with session_scope(url) as session:
        model = store.get_model(session, body.model)
        counts = operations.save_host_samples(session, [s.to_row(model.id) for s in good])
        quarantined = logs.quarantine(session, model.id, "host_metrics", f"api:{principal.actor}", bad)
    return {"model": body.model, "accepted": counts.accepted, "duplicates": counts.duplicates,
            "quarantined": quarantined, "errors": [f"sample {r.row_number}: {r.reason}" for r in bad[:5]]}
