"""``POST /v1/models/{name}/interactions``: user interaction events from a serving system.

The body is a JSON array of events (or ``{"rows": [...]}``), each with the model's column names
(``request_id``, ``event``, ``ts``, ``value`` by default). Rows are validated exactly as
``modelwatch ingest interactions`` validates a file: bad rows are quarantined and answered with
their 1-based position and reason, the good rows of the same batch are kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException

from frontdoors.api.deps import database_url, settings as settings_of
from frontdoors.api.security import Principal, writer
from monitor.db.engine import session_scope
from monitor.ingest import validate_records
from monitor.store import logs, models as store
from monitor.store.interactions import insert_interactions

router = APIRouter(prefix="/v1", tags=["ingestion"])


def _rows_of(payload: Any, limit: int) -> list[Any]:
    rows = payload.get("rows") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise HTTPException(422, "expected a JSON array of interaction events, or {\"rows\": [...]}")
    if len(rows) > limit:
        raise HTTPException(413, f"{len(rows)} rows in one request; send at most {limit} per request "
                                 "(MODELWATCH_MAX_BATCH_ROWS)")
    return rows


@router.post("/models/{name}/interactions")
def ingest_interactions(name: str, payload: Any = Body(...), url: str = Depends(database_url),
                        principal: Principal = Depends(writer), settings=Depends(settings_of)) -> dict[str, Any]:
    """Store a batch of interaction events; answer which rows were rejected and why."""
    rows = _rows_of(payload, settings.max_batch_rows)
    with session_scope(url) as session:
        model = store.get_model(session, name)
        batch = validate_records(rows, "interactions", store.spec_of(model))
        counts = insert_interactions(session, model.id, batch.rows)
        logs.quarantine(session, model.id, "interactions", f"api:{principal.actor}", batch.rejected)
    return {"model": name, "received": len(rows), "accepted": counts.accepted,
            "duplicates": counts.duplicates + batch.duplicates, "quarantined": len(batch.rejected),
            "rejected": [{"row": r.row_number, "reason": r.reason} for r in batch.rejected]}
