"""Engines and sessions, one engine per process and database URL.

Celery's prefork pool forks worker processes; a connection pool must never cross a fork, so the
engine cache is keyed by PID as well as URL. SQLite is put in WAL mode with a generous busy
timeout so that a worker, beat and the CLI can share the embedded database. JSON columns are
decoded by orjson with ``json.loads``'s answers (``monitor.db.jsoncolumns``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from monitor.db import jsoncolumns

_engines: dict[tuple[str, int], Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def get_engine(url: str) -> Engine:
    """The engine for ``url`` in this process (created on first use)."""
    key = (url, os.getpid())
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if is_sqlite(url):
                database = make_url(url).database
                if database and database != ":memory:":
                    os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30}, json_deserializer=jsoncolumns.loads)
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                                       json_deserializer=jsoncolumns.loads)
            _engines[key] = engine
        return engine


def dispose_all() -> None:
    """Forget every engine of this process (after a fork, or at shutdown)."""
    with _lock:
        for (url, pid), engine in list(_engines.items()):
            if pid == os.getpid():
                engine.dispose()
            else:
                engine.dispose(close=False)
            del _engines[(url, pid)]


@contextlib.contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    A plain ``Session``, not ``sessionmaker(...)()``: each ``sessionmaker`` call makes a new Session
    subclass whose event dispatch SQLAlchemy sets up anew, about a tenth of a check stage's
    bookkeeping CPU when it was done per transaction."""
    session = Session(get_engine(url), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
