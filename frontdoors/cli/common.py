"""What every command needs: the database URL, with the schema brought up to date first."""

from __future__ import annotations

from monitor.config import get_settings
from monitor.db.migrate import upgrade


def database_url() -> str:
    """The database URL, migrated when ``MODELWATCH_AUTO_MIGRATE`` is on (the default)."""
    settings = get_settings()
    url = settings.effective_database_url
    if settings.auto_migrate:
        upgrade(url)
    return url
