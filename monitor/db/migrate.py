"""Alembic migrations, run from code so that ``modelwatch migrate``, the worker and the CLI agree.

Concurrent starters (several workers, beat, the CLI) must not race to create tables: on
PostgreSQL the upgrade holds an advisory lock, on SQLite a file lock beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from monitor.db.engine import get_engine, is_sqlite

MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_LOCK_ID = 0x6D6F6E77  # "monw"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _migration_lock(url: str, engine: Engine) -> Iterator[None]:
    if is_sqlite(url):
        database = make_url(url).database or ""
        if database in ("", ":memory:"):
            yield
            return
        with open(database + ".migrate.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ADVISORY_LOCK_ID})
    else:
        yield


def upgrade(url: str) -> bool:
    """Bring the schema at ``url`` to the newest revision. Returns whether anything ran."""
    engine = get_engine(url)
    head = head_revision(url)
    if current_revision(engine) == head:
        return False
    with _migration_lock(url, engine):
        if current_revision(engine) == head:
            return False
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return True
