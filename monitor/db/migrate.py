"""Alembic migrations, run from code so that ``modelwatch migrate``, the worker and the CLI agree.

Concurrent starters (several workers, beat, the CLI) must not race to create tables: on
PostgreSQL the upgrade holds an advisory lock, on SQLite a file lock beside the database.

Alembic is imported only when a migration runs (or is asked about): every CLI command, worker
and beat calls :func:`upgrade` at start, and at the newest revision that is one read of
``alembic_version`` against the head read from the migration files' ``revision`` lines
(:func:`script_head`), not alembic's import and script loading (about 0.15-0.3 CPU-s a process).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from monitor.db.engine import get_engine, is_sqlite

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_LOCK_ID = 0x6D6F6E77  # "monw"
#: ``revision = "0013"`` / ``down_revision = "0012"`` (or None) at the start of a line of a migration file
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]+)?=\s*(.+?)\s*$", re.MULTILINE)
_QUOTED = re.compile(r"""^(['"])([^'"]+)\1$""")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def script_head() -> str | None:
    """The head revision, read from the migration files' ``revision`` and ``down_revision`` lines
    without alembic; None unless that is one plain chain of quoted ids with exactly one head
    (a merge, a branch or an unusual file: then only alembic can say, and :func:`upgrade` asks it).
    ``tests/unit/test_migrate_head.py`` checks it against alembic's own head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict(match.groups() for match in _REVISION_LINE.finditer(path.read_text()))
        if "revision" not in found or "down_revision" not in found:
            return None
        revision = _QUOTED.match(found["revision"])
        if revision is None:
            return None
        revisions.add(revision[2])
        if found["down_revision"] != "None":
            parent = _QUOTED.match(found["down_revision"])
            if parent is None:  # a tuple: a merge revision
                return None
            parents.add(parent[2])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def stored_revision(engine: Engine) -> str | None:
    """The one revision in ``alembic_version``, read with plain SQL; None when the table is
    missing (a new database), empty, or holds several heads."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table yet
        return None
    return rows[0] if len(rows) == 1 else None


def at_head(engine: Engine) -> bool:
    """Whether the schema is at the newest revision, known without alembic (False: ask alembic)."""
    head = script_head()
    return head is not None and stored_revision(engine) == head


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
    if at_head(engine):  # the common case, without importing alembic
        return False
    from alembic import command

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
