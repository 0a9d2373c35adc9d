"""The Celery application: ``celery -A workers.app worker|beat|flower|call``."""

from __future__ import annotations

from celery import Celery

from monitor.config import get_settings
from workers.celeryconfig import build_config

settings = get_settings()
settings.data_dir.mkdir(parents=True, exist_ok=True)

app = Celery("modelwatch", include=["tasks.check", "tasks.alerts", "tasks.recovery", "tasks.dispatch"])
app.config_from_object(build_config(settings))

from workers import signals  # noqa: E402,F401  (connects the worker signals)
