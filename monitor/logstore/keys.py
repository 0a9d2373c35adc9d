"""Which request ids of a batch a model sees for the first time (the exact duplicate count).

The narrow ``log_keys`` table holds every (model, kind, request id) stored. The primary key makes
two racing batches exact: the second waits on the first's uncommitted key and then finds it taken.

How the ids travel, and why (``benchmarks/ingest.py``; a 10k-id multi-row VALUES statement built by
SQLAlchemy took 10 s of client CPU per batch to compile):

- PostgreSQL: the ids go into a temporary table with one ``COPY`` of a CSV buffer written by
  pyarrow (not a Python ``write_row`` per id), then, in a savepoint, a plain ``INSERT`` of them
  all: the usual batch is all new, and the primary key's own check is the only lookup (the
  speculative insertion of ``ON CONFLICT`` cost 3x the plain insert per key, ``RETURNING`` every
  new id sent 50k rows back per batch, and a join against the stored keys made the planner hash
  the model's whole key history on every batch). A batch holding a stored id (or racing another
  batch over one) gets a unique violation instead: it rolls back to the savepoint and takes the
  exact ``ON CONFLICT DO NOTHING RETURNING`` path, so a re-sent batch costs about twice a new one.
- SQLite: the ids go in as one JSON array read by ``json_each`` (no temporary table, no
  ``executemany``), the same way: a plain ``INSERT`` first (3x faster than
  ``ON CONFLICT ... RETURNING`` here), which SQLite undoes on its own when an id is taken, then
  the ``RETURNING`` path. SQLite has one writer at a time, so there is no race to handle.
"""

from __future__ import annotations

import io
import json
import sqlite3

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
        new = _insert_postgresql(session, model_id, kind, request_ids)
    else:
        new = _insert_sqlite(session, model_id, kind, request_ids)
    if new is None:
        return pa.array([True] * len(request_ids), pa.bool_())
    return pc.is_in(request_ids, value_set=pa.array(new, pa.string()))


def _insert_sqlite(session: Session, model_id: int, kind: str, request_ids: pa.Array) -> list[str] | None:
    """None when every id was new; else the new ones. A failed statement undoes its own rows."""
    raw = session.connection().connection.driver_connection
    parameters = (model_id, kind, json.dumps(request_ids.to_pylist()))
    select = "SELECT ?, ?, value FROM json_each(?)"
    try:
        raw.execute(f"INSERT INTO log_keys (model_id, kind, request_id) {select}", parameters).close()
        return None
    except sqlite3.IntegrityError:
        pass
    cursor = raw.execute(  # "WHERE true": SQLite's parser needs it before ON CONFLICT
        f"INSERT INTO log_keys (model_id, kind, request_id) {select} WHERE true "
        "ON CONFLICT DO NOTHING RETURNING request_id", parameters)
    try:
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


_ALL_NEW = ("INSERT INTO log_keys (model_id, kind, request_id) SELECT :model_id, :kind, request_id "
            "FROM log_keys_incoming")
_SOME_STORED = ("INSERT INTO log_keys (model_id, kind, request_id) SELECT :model_id, :kind, request_id "
                "FROM log_keys_incoming ON CONFLICT DO NOTHING RETURNING request_id")


def _insert_postgresql(session: Session, model_id: int, kind: str, request_ids: pa.Array) -> list[str] | None:
    """None when every id was new; else the new ones."""
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
        with session.begin_nested():  # the usual batch: every id is new, and nothing comes back
            session.connection().execute(text(_ALL_NEW), parameters)
        return None
    except IntegrityError:  # some id is stored (or a racing batch just stored it): the exact path
        return list(session.connection().execute(text(_SOME_STORED), parameters).scalars())
