"""Which request ids of a batch a model sees for the first time (the exact duplicate count).

The narrow ``log_keys`` table holds every (model, kind, request id) stored. The primary key makes
two racing batches exact: the second waits on the first's uncommitted key and then finds it taken.

How the ids travel, and why (``benchmarks/ingest.py``; a 10k-id multi-row VALUES statement built by
SQLAlchemy took 10 s of client CPU per batch to compile):

- PostgreSQL: the ids go into a temporary table with one ``COPY`` of a CSV buffer written by
  pyarrow (not a Python ``write_row`` per id), then ONE statement finds the ids already stored and
  inserts the others with a plain ``INSERT`` (no ``ON CONFLICT``: the speculative insertion cost
  3x the plain insert per key, and ``RETURNING`` every new id sent 50k rows back per batch). Only
  the duplicates come back, usually none. A batch that races another one over the same id gets a
  unique violation instead; it rolls back to a savepoint and takes the exact
  ``ON CONFLICT DO NOTHING RETURNING`` path.
- SQLite: the ids go in as one JSON array read by ``json_each`` in a single
  ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, fetched by the driver in C (SQLite has one
  writer at a time, so there is no race to handle).
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def first_seen(session: Session, model_id: int, kind: str, request_ids: pa.Array) -> pa.Array:
    """A boolean mask over ``request_ids`` (unique within the batch): True where the model had no
    such id of this kind before; those keys are recorded in the caller's transaction."""
    if len(request_ids) == 0:
        return pa.array([], pa.bool_())
    if session.get_bind().dialect.name == "postgresql":
        return _first_seen_postgresql(session, model_id, kind, request_ids)
    new = _insert_sqlite(session, model_id, kind, request_ids.to_pylist())
    if len(new) == len(request_ids):
        return pa.array([True] * len(request_ids), pa.bool_())
    return pc.is_in(request_ids, value_set=pa.array(new, pa.string()))


def _insert_sqlite(session: Session, model_id: int, kind: str, ids: list[str]) -> list[str]:
    raw = session.connection().connection.driver_connection
    cursor = raw.execute(  # "WHERE true": SQLite's parser needs it before ON CONFLICT
        "INSERT INTO log_keys (model_id, kind, request_id) SELECT ?, ?, value FROM json_each(?) "
        "WHERE true ON CONFLICT DO NOTHING RETURNING request_id", (model_id, kind, json.dumps(ids)))
    try:
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


_STORED_AND_NEW = (
    "WITH stored AS (SELECT i.request_id FROM log_keys_incoming i JOIN log_keys k "
    "ON k.model_id = :model_id AND k.kind = :kind AND k.request_id = i.request_id), "
    "added AS (INSERT INTO log_keys (model_id, kind, request_id) SELECT :model_id, :kind, request_id "
    "FROM log_keys_incoming WHERE request_id NOT IN (SELECT request_id FROM stored)) "
    "SELECT request_id FROM stored")
_RACED = ("INSERT INTO log_keys (model_id, kind, request_id) SELECT :model_id, :kind, request_id "
          "FROM log_keys_incoming ON CONFLICT DO NOTHING RETURNING request_id")


def _first_seen_postgresql(session: Session, model_id: int, kind: str, request_ids: pa.Array) -> pa.Array:
    connection = session.connection()
    connection.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS log_keys_incoming (request_id text) "
                            "ON COMMIT DELETE ROWS"))
    connection.execute(text("TRUNCATE log_keys_incoming"))
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table({"request_id": request_ids}), buffer,
                    pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy("COPY log_keys_incoming (request_id) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())
    parameters = {"model_id": model_id, "kind": kind}
    try:
        with session.begin_nested():
            stored = list(session.connection().execute(text(_STORED_AND_NEW), parameters).scalars())
    except IntegrityError:  # another batch committed one of these ids meanwhile: take the exact path
        new = list(session.connection().execute(text(_RACED), parameters).scalars())
        return pc.is_in(request_ids, value_set=pa.array(new, pa.string()))
    if not stored:
        return pa.array([True] * len(request_ids), pa.bool_())
    return pc.invert(pc.is_in(request_ids, value_set=pa.array(stored, pa.string())))
