"""Real-time alerts on the ``ingest`` queue: one streaming tick, run by beat every second or two.

The tick (``monitor.stream.tick.run_tick``) reads the prediction rows written since the last one,
whichever front door wrote them, feeds each model's online detectors and raises streaming alerts;
this task only commits that and hands the planned notifications to ``tasks.alerts.deliver``.

Options: no retries and no late ack on purpose. A tick is cheap and the next one is at most
``stream_interval`` away; the cursor only moves when a tick commits, so a tick that failed or died
loses nothing, and retrying it would only queue behind the next tick. A notification planned by a
tick whose publish to the alerts queue failed stays ``pending`` and the sweeper re-sends it.
"""

from __future__ import annotations

from monitor.config import get_settings
from monitor.db.engine import session_scope
from monitor.stream.tick import run_tick
from workers.app import app


@app.task(name="tasks.ingest.stream", acks_late=False, max_retries=0, ignore_result=True)
def stream() -> dict:
    from tasks.alerts import deliver

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        result = run_tick(session, chunk_rows=settings.stream_chunk_rows, batch_limit=settings.stream_batch_rows,
                          gap_ttl=settings.stream_gap_ttl, public_url=settings.public_url)
    for notification_id in result.notifications:
        deliver.delay(notification_id)
    return {"claimed": result.claimed, "rows": result.rows, "cursor": result.cursor, "fired": result.fired,
            "notifications": result.notifications}


@app.task(name="tasks.ingest.sweep_segments", acks_late=False, max_retries=0)
def sweep_segments() -> dict:
    """Delete segment files that no ``log_segments`` row references, written over an hour ago:
    what a crash between a batch's file write and its commit left behind. No retries: the next
    sweep finds whatever this one missed. ``celery -A workers.app call tasks.ingest.sweep_segments``
    runs one now."""
    from monitor.store.logs import sweep_orphan_segments

    with session_scope(get_settings().effective_database_url) as session:
        swept = sweep_orphan_segments(session)
    return {"swept": len(swept), "locations": swept[:100]}
