"""Which request ids of a batch a model sees for the first time (the exact duplicate count).

The narrow ``log_keys`` table holds every (model, kind, request id) stored. A batch's ids go in
with ``ON CONFLICT DO NOTHING RETURNING``: what comes back is first-seen, the rest are duplicates
of an earlier batch and are not written again. The primary key makes two racing batches safe: the
second waits on the first's uncommitted key and then finds it taken.

The ids travel into a temporary table (``COPY`` on PostgreSQL, the driver's ``executemany`` on
SQLite) and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` moves them: a 10k-id
multi-row VALUES statement built by SQLAlchemy took 10 s of client CPU per batch to compile.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.orm import Session


def first_seen(session: Session, model_id: int, kind: str, request_ids: pa.Array) -> pa.Array:
    """A boolean mask over ``request_ids`` (unique within the batch): True where the model had no
    such id of this kind before; those keys are recorded in the caller's transaction."""
    if len(request_ids) == 0:
        return pa.array([], pa.bool_())
    if session.get_bind().dialect.name == "postgresql":
        new = _insert_postgresql(session, model_id, kind, request_ids)
    else:
        new = _insert_sqlite(session, model_id, kind, request_ids.to_pylist())
    if len(new) == len(request_ids):
        return pa.array([True] * len(request_ids), pa.bool_())
    return pc.is_in(request_ids, value_set=pa.array(new, pa.string()))


def _insert_sqlite(session: Session, model_id: int, kind: str, ids: list[str]) -> list[str]:
    connection = session.connection()
    connection.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS log_keys_incoming (request_id TEXT)"))
    connection.execute(text("DELETE FROM temp.log_keys_incoming"))
    raw = connection.connection.driver_connection
    raw.executemany("INSERT INTO temp.log_keys_incoming (request_id) VALUES (?)", ((r,) for r in ids))
    result = connection.execute(text(  # "WHERE true": SQLite's parser needs it before ON CONFLICT
        "INSERT INTO log_keys (model_id, kind, request_id) SELECT :model_id, :kind, request_id "
        "FROM temp.log_keys_incoming WHERE true ON CONFLICT DO NOTHING RETURNING request_id"),
        {"model_id": model_id, "kind": kind})
    return list(result.scalars())


def _insert_postgresql(session: Session, model_id: int, kind: str, request_ids: pa.Array) -> list[str]:
    connection = session.connection()
    connection.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS log_keys_incoming (request_id text) "
                            "ON COMMIT DELETE ROWS"))
    connection.execute(text("TRUNCATE log_keys_incoming"))
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy("COPY log_keys_incoming (request_id) FROM STDIN") as copy:
            for value in request_ids.to_pylist():
                copy.write_row((value,))
    result = connection.execute(text(
        "INSERT INTO log_keys (model_id, kind, request_id) SELECT :model_id, :kind, request_id "
        "FROM log_keys_incoming ON CONFLICT DO NOTHING RETURNING request_id"),
        {"model_id": model_id, "kind": kind})
    return list(result.scalars())

