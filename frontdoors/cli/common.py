"""What every command needs: where the state is, and the database URL with its schema up to date."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.errors import NotFound

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from monitor.config import Settings

#: the commands that may create a new database (everything else refuses: a typo'd or missing
#: --data-dir must not silently start an empty store)
CREATES_STATE = ("apply", "demo", "migrate", "run", "serve")


def get_settings() -> Settings:
    """:func:`monitor.config.get_settings`, imported at first use: pydantic building the
    ``Settings`` model is about 40-60 ms that ``--help`` need not pay."""
    from monitor.config import get_settings as settings

    return settings()


def database_url(*, create: bool = False) -> str:
    """The database URL, migrated when ``MODELWATCH_AUTO_MIGRATE`` is on (the default).

    An embedded (SQLite) database that does not exist yet is created only with ``create=True``
    (``apply``); other commands say where they looked and how to create one. A server database
    (PostgreSQL) is created by its administrator, so only its schema is brought up to date here.
    """
    settings = get_settings()
    url = settings.effective_database_url
    if not create:
        refuse_missing(url)
    if settings.auto_migrate:
        from monitor.db.migrate import upgrade  # alembic: only when it has work to check

        upgrade(url)
    return url


def session_scope(url: str) -> AbstractContextManager[Session]:
    """:func:`monitor.db.engine.session_scope`, imported at first use (SQLAlchemy's ORM)."""
    from monitor.db.engine import session_scope as scope

    return scope(url)


def refuse_missing(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if not Path(parsed.database).exists():
        raise NotFound(
            f"no modelwatch state at {Path(parsed.database).resolve()}. Create it with "
            f"`modelwatch apply -f models.yaml` (or `modelwatch migrate`), or point at the existing "
            f"state with --data-dir DIR or MODELWATCH_DATA_DIR")


def state_line() -> str:
    """``state: <where>``, printed by ``status``, ``run`` and ``check`` so nobody reads the wrong store."""
    return f"state: {get_settings().state_location}"


def _use_data_dir(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is None:
        return
    # Through the environment, not a global: worker and beat processes that `run` starts inherit it.
    os.environ["MODELWATCH_DATA_DIR"] = str(value.expanduser().resolve())
    if "monitor.config" in sys.modules:  # else nothing has read the settings yet
        sys.modules["monitor.config"].get_settings.cache_clear()


def data_dir_option() -> click.Option:
    """``--data-dir DIR``, accepted by every command (and the group), overriding MODELWATCH_DATA_DIR."""
    return click.Option(["--data-dir"], type=click.Path(file_okay=False, path_type=Path), default=None,
                        expose_value=False, is_eager=True, callback=_use_data_dir,
                        help="Where modelwatch's state is (default: $MODELWATCH_DATA_DIR, "
                             "else ~/.local/share/modelwatch).")


def add_data_dir_option(command: click.Command) -> None:
    """Give ``command`` (and, for a group, each of its subcommands) a ``--data-dir`` unless it has one."""
    if not any(p.name == "data_dir" for p in command.params):
        command.params.append(data_dir_option())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_data_dir_option(sub)


def modelwatch_command() -> str:
    """How to type ``modelwatch`` in the user's shell so that it runs *this* installation.

    Bare ``modelwatch`` when PATH finds this very script (an activated venv, a pip install);
    otherwise its path, relative to the working directory when inside it (``.venv/bin/modelwatch``
    after ``make demo``), so lines the demo prints work when pasted as printed.
    """
    script = Path(sys.executable).parent / "modelwatch"
    if not script.exists():
        return f"{sys.executable} -m frontdoors.cli"
    found = shutil.which("modelwatch")
    if found and Path(found).resolve() == script.resolve():
        return "modelwatch"
    try:
        return str(script.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(script.absolute())
