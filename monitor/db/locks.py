"""Named locks held across transactions, released by the database if their holder dies.

Some work must not overlap itself although it commits several times: beat's dispatcher opens and
publishes a fleet of 10,000 models in batches, which can take longer than the dispatch interval,
and the next beat's dispatch must then return at once instead of reading the whole fleet again
beside it (two dispatchers would still open each run once, by its unique key, but twice the work
on a 2-core machine is what slowed the first one down). A row with a lease would have to
guess how long its holder may live; these locks need no guess:

* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept for
  the duration, so a worker killed mid-dispatch releases it with its connection.
* SQLite: an ``flock`` on a file next to the database (the embedded database lives on one
  machine); the kernel releases it when the process dies.

    with exclusive(url, "dispatch") as held:
        if not held:
            return  # another dispatcher is at work
        ...
"""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from monitor.db.engine import get_engine, is_sqlite

#: advisory lock keys are one 64-bit number per database; namespaced so a name cannot collide
#: with another application's numbers by accident
_NAMESPACE = 0x6D77 << 32  # "mw"


def lock_key(name: str) -> int:
    """The advisory lock number of ``name`` (stable across processes and Python versions).

    >>> lock_key("dispatch") == lock_key("dispatch") != lock_key("sweep")
    True
    """
    return _NAMESPACE | zlib.crc32(name.encode())


@contextlib.contextmanager
def exclusive(url: str, name: str) -> Iterator[bool]:
    """Hold the lock ``name`` of the database at ``url`` if no one else does; yields whether it
    is held. Never waits: a caller that finds it taken does something else (or nothing)."""
    if is_sqlite(url):
        with _file_lock(url, name) as held:
            yield held
        return
    with get_engine(url).connect() as connection:
        key = lock_key(name)
        held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        connection.commit()  # the lock is the session's, not this transaction's
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


@contextlib.contextmanager
def _file_lock(url: str, name: str) -> Iterator[bool]:
    database = make_url(url).database
    if not database or database == ":memory:":  # one process owns an in-memory database
        yield True
        return
    path = Path(database).with_name(f"{Path(database).name}.{name}.lock")
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
