"""The Celery application: ``celery -A workers.app worker|beat|flower|call``."""

from __future__ import annotations

import os

# Each prefork child is one unit of parallelism: keep OpenMP (scikit-learn's boosting) from
# spawning a thread per core in every child, which oversubscribes small machines badly.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from celery import Celery  # noqa: E402

from monitor.config import get_settings  # noqa: E402
from workers.celeryconfig import build_config  # noqa: E402

settings = get_settings()
settings.data_dir.mkdir(parents=True, exist_ok=True)

app = Celery("modelwatch", include=["tasks.check", "tasks.alerts", "tasks.recovery", "tasks.dispatch",
                                    "tasks.probes", "tasks.ingest", "tasks.export"])
app.config_from_object(build_config(settings))

from workers import embedded_broker  # noqa: E402,F401  (atomic message files on the filesystem broker)
from workers import signals  # noqa: E402,F401  (connects the worker signals)
