"""``upgrade`` knows the schema is current without alembic: the head it reads from the migration
files must be alembic's own, and a database at an older revision must still be migrated."""

from __future__ import annotations

from sqlalchemy import text

from monitor.db import migrate
from monitor.db.engine import get_engine


def test_the_head_read_from_the_files_is_alembics_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert migrate.script_head() is not None
    assert migrate.script_head() == migrate.head_revision(url)


def test_upgrade_skips_a_current_schema_and_migrates_an_older_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = get_engine(url)
    assert migrate.stored_revision(engine) is None and not migrate.at_head(engine)  # no alembic_version yet
    assert migrate.upgrade(url) is True
    assert migrate.at_head(engine) and migrate.current_revision(engine) == migrate.head_revision(url)
    assert migrate.upgrade(url) is False

    from alembic import command

    command.downgrade(migrate.alembic_config(url), "-1")
    older = migrate.current_revision(engine)
    assert older != migrate.script_head() and not migrate.at_head(engine)
    assert migrate.upgrade(url) is True
    assert migrate.stored_revision(engine) == migrate.script_head()


def test_several_rows_in_alembic_version_are_left_to_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = get_engine(url)
    migrate.upgrade(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('other')"))
    assert migrate.stored_revision(engine) is None and not migrate.at_head(engine)
