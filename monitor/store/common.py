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
    """``SELECT ... FOR UPDATE`` where the database has row locks (SQLite locks the whole file)."""
    if session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update()
    return statement
