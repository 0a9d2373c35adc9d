"""Exports of a finished run to outside stores, on the ``alerts`` queue beside notifications.

Published by the report stage once the run is recorded, so a slow or dead Graphite never delays
or fails a check: its task waits out carbon's outage in delayed retries (backoff with jitter,
``max_retries`` of them) and then gives up, logging what was lost. Sending a run twice is harmless:
Graphite keeps one value per path and timestamp, and the timestamp is the window's end.
"""

from __future__ import annotations

import logging

from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.export import graphite as graphite_export
from tasks.base import RELIABLE, TRANSIENT
from workers.app import app

logger = logging.getLogger(__name__)

#: Connection refused, host unreachable, timed out: carbon may be back soon. ``OSError`` covers all three.
EXPORT = {**RELIABLE, "autoretry_for": (*TRANSIENT, OSError), "max_retries": 10, "retry_backoff_max": 300,
          "soft_time_limit": 60, "time_limit": 90}


@app.task(name="tasks.export.graphite", **EXPORT)
def graphite(run_id: str) -> dict:
    """Send one run's KPIs, drift scores, service KPIs and open-alert counts to carbon."""
    settings = get_settings()
    if not settings.graphite_host:
        return {"run_id": run_id, "skipped": "MODELWATCH_GRAPHITE_HOST is not set"}
    with session_scope(settings.effective_database_url) as session:
        metrics = graphite_export.run_metrics(session, run_id)
    lines = graphite_export.metric_lines(settings.graphite_prefix, metrics)
    sent = graphite_export.send(settings.graphite_host, settings.graphite_port, lines, settings.graphite_timeout)
    logger.info("graphite: sent %d metrics of run %s (%d bytes) to %s:%d", len(lines), run_id, sent,
                settings.graphite_host, settings.graphite_port)
    return {"run_id": run_id, "metrics": len(lines), "bytes": sent}
