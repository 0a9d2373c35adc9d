"""Dialect-aware helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows``, skipping any that violate a unique constraint; return the new ids.

    ``ON CONFLICT DO NOTHING`` with no target covers every unique constraint and index, which is
    what makes re-sent rows, re-run stages and racing dispatchers harmless.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing().returning(table.c.id)
    return [row[0] for row in session.execute(statement, list(rows))]


def for_update(statement, session: Session):
    """``statement`` as a read that the transaction's later writes can rely on.

    PostgreSQL: ``SELECT ... FOR UPDATE`` locks the rows. SQLite has no row locks, and Python's
    sqlite3 (legacy transaction mode) runs a SELECT outside any transaction, opening one only at
    the first write: another process's commit between the read and that write would be silently
    overwritten (a run failed by the sweeper, marked ``running`` again). So on SQLite the
    database's write lock is taken first (:func:`begin_write`).
    """
    if session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update()
    begin_write(session)
    return statement


def begin_write(session: Session) -> None:
    """On SQLite, start the session's transaction with ``BEGIN IMMEDIATE`` unless one is open.

    An open transaction has already written (the driver opens one only then), so it holds the
    lock. Other writers wait on the busy timeout, as they would for any write; readers (WAL) do not.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
