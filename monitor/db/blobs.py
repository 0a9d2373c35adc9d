"""Reading one large binary value in pieces, into one buffer.

A version's drift reference is tens of MB (64 MB for a 200k-row reference whose model has a
segment column). Fetched as one value, the database driver holds its own copy while Python's is
built: SQLite materialises the whole record, PostgreSQL's result holds the value as hex text
(twice its size) beside the decoded bytes. In the 1M-row check the evaluate stage's worker rose
by 138 MB for a moment to load that 64 MB value, on top of what the window already held. Read in
pieces of :data:`PIECE` bytes into one preallocated buffer, the moment costs a piece (a value
that fits in one piece is read with its row, :func:`small_value`):

* SQLite: the standard library's incremental blob I/O (``sqlite3.Connection.blobopen``) reads
  the value's pages a piece at a time, on the session's own connection (its transaction);
* PostgreSQL (and any other database): one ``substr(value, start, PIECE)`` per piece.

The row must not change while it is read: the pieces are separate reads, so a row replaced
meanwhile (a version's reference saved again; SQLite may give the new row the deleted one's id)
would mix two values. A value whose row vanished or changed size between the pieces, or whose
``unchanged`` column no longer holds what the caller read with the row, raises
:class:`BlobChanged`, a transient error: the stage retries and reads the row that replaced it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor.errors import TransientError

#: bytes per piece: small beside a worker's budget, large enough that a 64 MB value is 16 reads
PIECE = 4 * 2**20


def small_value(column: InstrumentedAttribute | Column):
    """The value itself when it fits in one piece, else NULL: selected beside ``func.length``, a
    small value (a small model's reference) comes with the row, with no second statement."""
    return case((func.length(column) <= PIECE, column), else_=None)


class BlobChanged(TransientError):
    """The row holding a value that was being read in pieces was replaced or deleted meanwhile."""


def read_blob(session: Session, column: InstrumentedAttribute | Column, key: InstrumentedAttribute | Column,
              key_value: int, size: int, unchanged: tuple[InstrumentedAttribute | Column, Any] | None = None
              ) -> memoryview:
    """The ``column`` value of the row whose ``key`` (its integer primary key) is ``key_value``,
    ``size`` bytes long (``func.length(column)``, read with the rest of the row), as a read-only
    view of one buffer. ``unchanged``: a column of the row and the value the caller read with it
    (a creation time), checked again once the pieces are in, so they are from the same row."""
    buffer = bytearray(size)
    if session.get_bind().dialect.name == "sqlite" and size:
        _read_sqlite(session, column, key_value, buffer)
    else:
        for offset in range(0, size, PIECE):
            piece = session.scalar(select(func.substr(column, offset + 1, PIECE)).where(key == key_value))
            _place(buffer, offset, piece, column, key_value)
    if unchanged is not None:
        marker, expected = unchanged
        if session.scalar(select(marker).where(key == key_value)) != expected:
            raise BlobChanged(f"the row {key_value} holding {column.key} was replaced while it was read")
    return memoryview(buffer).toreadonly()


def _read_sqlite(session: Session, column, key_value: int, buffer: bytearray) -> None:
    """Through ``blobopen`` on the session's connection (the key is the table's rowid)."""
    import sqlite3

    target = column if isinstance(column, Column) else column.expression  # the table's Column
    table, name = target.table.name, target.name
    raw = session.connection().connection.driver_connection
    try:
        with raw.blobopen(table, name, key_value, readonly=True) as blob:
            if len(blob) != len(buffer):
                raise BlobChanged(f"{table}.{name} of row {key_value} changed size while it was read")
            for offset in range(0, len(buffer), PIECE):
                _place(buffer, offset, blob.read(PIECE), column, key_value)
    except sqlite3.OperationalError as exc:  # "no such rowid": the row was deleted meanwhile
        raise BlobChanged(f"{table}.{name} of row {key_value} could not be read: {exc}") from exc


def _place(buffer: bytearray, offset: int, piece: bytes | memoryview | None, column, key_value: int) -> None:
    expected = min(PIECE, len(buffer) - offset)
    if piece is None or len(piece) != expected:
        raise BlobChanged(f"{column.key} of row {key_value} changed while it was read in pieces")
    buffer[offset:offset + expected] = piece
