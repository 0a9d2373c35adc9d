"""Worker lifecycle hooks: schema on start, fresh database pools after every fork."""

from __future__ import annotations

import logging

from celery.signals import beat_init, worker_init, worker_process_init

from monitor.config import get_settings
from monitor.db import engine
from monitor.db.migrate import upgrade

logger = logging.getLogger("modelwatch.workers")


def _migrate() -> None:
    settings = get_settings()
    if settings.auto_migrate and upgrade(settings.effective_database_url):
        logger.info("database schema upgraded at %s", settings.effective_database_url.split("@")[-1])


@worker_init.connect
def _on_worker_init(**_: object) -> None:
    _migrate()
    engine.dispose_all()


@beat_init.connect
def _on_beat_init(**_: object) -> None:
    _migrate()


@worker_process_init.connect
def _on_process_init(**_: object) -> None:
    engine.dispose_all()
