"""Batch ingestion over HTTP: ``POST /v1/models/{name}/predictions`` and ``.../labels``.

A batch is ``{"rows": [{column: value, ...}, ...]}`` (or the bare array, like the interactions
endpoint takes) with the column names of the model's spec,
validated by :func:`monitor.ingest.validate_records`, the validator that ``modelwatch ingest`` and
:class:`monitor.client.Client` use: the parsed body becomes one Arrow column per field (no model
object per row). An ordinary ``{"rows": [...]}`` body is read straight into those columns by
``pyarrow.json``, with no Python object per cell, where that gives the same columns
(:mod:`frontdoors.api.jsonbatch` says where; every other body is parsed as before, and the answers
are the same either way). A bad row never fails the batch: it is quarantined with its reason (a NUL, a lone
surrogate, an oversized or nested value included) and reported back by position, and the good
rows are written.
The same batch may come as an Arrow IPC stream (``Content-Type:
application/vnd.apache.arrow.stream``, one column per spec column): no JSON to decode, and the
columns are validated as a Parquet file's are.
Rows whose request id the model already has (or that repeat one earlier in the batch) count as
duplicates. Limits: ``MODELWATCH_MAX_BODY_BYTES`` (413 before parsing) and
``MODELWATCH_MAX_BATCH_ROWS`` (413 before validating).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from frontdoors.api.deps import settings as app_settings
from frontdoors.api.guard import ARROW_STREAM, is_arrow
from frontdoors.api.jsonbody import may_hold_booleans
from frontdoors.api.jsonbatch import JsonBatch, json_batch, too_many_rows
from frontdoors.api.limits import parse_json_document, read_limited_body
from frontdoors.api.security import Principal, writer
from monitor.config import Settings
from monitor.db.engine import session_scope

router = APIRouter(prefix="/v1", tags=["ingestion"])


class RejectedRow(BaseModel):
    index: int = Field(description="0-based position of the row in `rows`.")
    row: int = Field(description="1-based row number, as stored in quarantine.")
    reason: str = Field(description="What is wrong, naming the column.")


class IngestResult(BaseModel):
    model: str
    kind: str
    received: int = Field(description="Rows in the batch.")
    accepted: int = Field(description="Rows written.")
    duplicates: int = Field(description="Rows whose request id the model already had or the batch repeated.")
    quarantined: int = Field(description="Rows rejected and kept in quarantine with their reason.")
    rejected: list[RejectedRow]


def _body_schema(kind: str) -> dict[str, Any]:
    example = ({"request_id": "r1", "ts": "2026-11-23T10:00:00Z", "prediction": 1, "score": 0.81, "age": 41}
               if kind == "predictions" else {"request_id": "r1", "label": 0})
    rows = {"type": "array", "items": {"type": "object"},
            "description": "Rows keyed by the column names of the model's spec."}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {
            "oneOf": [{"type": "object", "required": ["rows"], "additionalProperties": False,
                       "properties": {"rows": rows}}, rows],
            "example": {"rows": [example]},
        }},
        ARROW_STREAM: {"schema": {"type": "string", "format": "binary",
                                  "description": "An Arrow IPC stream, one column per spec column."}},
    }}}


def batch_rows(payload: Any, limit: int) -> list[Any]:
    """The rows of a batch body (``{"rows": [...]}`` or a bare array, as for interactions), or a
    422/413 saying what is wrong with its shape or size."""
    if isinstance(payload, list):
        payload = {"rows": payload}
    if not isinstance(payload, dict) or "rows" not in payload:
        raise HTTPException(422, 'expected {"rows": [...]} or a JSON array, one object per row')
    unknown = sorted(set(payload) - {"rows"})
    if unknown:
        raise HTTPException(422, f"unknown field(s) {unknown}; expected only \"rows\"")
    rows = payload["rows"]
    if not isinstance(rows, list):
        raise HTTPException(422, f'"rows" must be an array of objects, got {type(rows).__name__}')
    if len(rows) > limit:
        raise too_many_rows(len(rows), limit)
    return rows


async def _ingest(kind: str, name: str, request: Request, settings: Settings, principal: Principal) -> IngestResult:
    # Decoding, validation and the database are blocking work: keep them off the event loop.
    if is_arrow(dict(request.scope.get("headers") or ())):
        body = await read_limited_body(request, settings.max_body_bytes)
        rows = await run_in_threadpool(arrow_rows, body, settings.max_batch_rows)
        one_pass = False
    else:
        body = await read_limited_body(request, settings.max_body_bytes)
        rows = await run_in_threadpool(json_batch, body, settings.max_batch_rows)
        one_pass = False
        if rows is None:  # not a body read straight into columns: parsed into Python objects
            rows = batch_rows(await parse_json_document(body), settings.max_batch_rows)
            one_pass = without_booleans(body)
    return await run_in_threadpool(store_batch, kind, name, rows, settings, principal.actor, one_pass)


def without_booleans(body: bytes) -> bool:
    """True when the JSON text has no ``true``/``false`` (a string holding the word counts too):
    then its rows can become columns in one Arrow pass with the same answers
    (``monitor.ingest.validate._struct_columns`` says why booleans are the exception). A NUL
    byte means UTF-16/32 text (``json.loads`` reads it; UTF-8 JSON never holds one), where the
    words would not be found as bytes."""
    return b"\x00" not in body and not may_hold_booleans(body)


def arrow_rows(body: bytes, limit: int):
    """The rows of an Arrow IPC stream body as one record batch, or a 400/413 saying what is wrong.

    Typed columns skip JSON decoding and the per-row dicts: the columns go straight to the
    validator that reads Parquet files, so the quarantine answers are a Parquet file's."""
    import pyarrow as pa

    if not body:
        raise HTTPException(400, "empty request body; expected an Arrow IPC stream")
    try:
        table = pa.ipc.open_stream(pa.BufferReader(body)).read_all()
    except (pa.ArrowException, OSError) as exc:
        raise HTTPException(400, f"request body is not an Arrow IPC stream ({ARROW_STREAM}): {exc}") from None
    if table.num_rows > limit:
        raise too_many_rows(table.num_rows, limit)
    names = table.column_names
    if len(set(names)) != len(names):
        raise HTTPException(422, f"the stream repeats column(s) {sorted({n for n in names if names.count(n) > 1})}")
    table = table.combine_chunks()
    return pa.RecordBatch.from_arrays([column.combine_chunks() for column in table.columns], names=names)


def store_batch(kind: str, name: str, rows: Any, settings: Settings, actor: str,
                one_pass: bool = False) -> IngestResult:
    """Validate ``rows`` (row dicts, a JSON body's columns, or an Arrow record batch) for the
    model's spec and write them (bad ones to quarantine) in one transaction. ``one_pass``: the
    dicts were parsed from JSON text without booleans (:func:`without_booleans`)."""
    from monitor.ingest import validate_columns, validate_records
    from monitor.ingest.readers import validate_record_batch
    from monitor.store import logs, models as store

    with session_scope(settings.effective_database_url) as session:
        model = store.get_model(session, name)
        if isinstance(rows, list):
            batch = validate_records(rows, kind, store.spec_of(model), json_without_booleans=one_pass)
        elif isinstance(rows, JsonBatch):
            batch = validate_columns(rows.num_rows, rows.columns, kind, store.spec_of(model), rows.rows)
        else:
            batch = validate_record_batch(rows, 1, kind, store.spec_of(model))
        serving = store.serving_version(session, model.id) if kind == "predictions" else None
        counts = logs.save_batch(session, model.id, kind, batch, f"api:{actor}",
                                 serving.version if serving else None)
    return IngestResult(
        model=name, kind=kind, received=len(rows) if isinstance(rows, list) else rows.num_rows,
        accepted=counts.accepted,
        duplicates=counts.duplicates, quarantined=len(batch.rejected),  # save_batch adds batch.duplicates
        rejected=[RejectedRow(index=r.row_number - 1, row=r.row_number, reason=r.reason) for r in batch.rejected],
    )


_ERRORS = {400: {"description": "The body is not JSON"},
           413: {"description": "Body or batch over its limit"},
           422: {"description": "The body is not {\"rows\": [...]} nor an array"}}


@router.post("/models/{name}/predictions", response_model=IngestResult, openapi_extra=_body_schema("predictions"),
             responses=_ERRORS)
async def ingest_predictions(name: str, request: Request, settings: Settings = Depends(app_settings),
                             principal: Principal = Depends(writer)) -> IngestResult:
    """Log a batch of predictions; bad rows are quarantined and listed, good rows kept."""
    return await _ingest("predictions", name, request, settings, principal)


@router.post("/models/{name}/labels", response_model=IngestResult, openapi_extra=_body_schema("labels"),
             responses=_ERRORS)
async def ingest_labels(name: str, request: Request, settings: Settings = Depends(app_settings),
                        principal: Principal = Depends(writer)) -> IngestResult:
    """Log a batch of labels (ground truth) for earlier predictions, matched by request id."""
    return await _ingest("labels", name, request, settings, principal)
