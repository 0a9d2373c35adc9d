"""The clock: what Celery beat runs, and how often.

Exactly one beat should run, but a second one does no harm: a dispatch creates a check run under
a unique (model, version, window) key, so two dispatchers converge on one run; sweeps only
re-enqueue work whose atomic claim lets one execution through.
"""

from __future__ import annotations

from typing import Any


def beat_schedule(settings) -> dict[str, dict[str, Any]]:
    return {**_streaming(settings), **_segment_sweep(settings),
        "dispatch-due-checks": {
            "task": "tasks.dispatch.dispatch_due",
            "schedule": settings.dispatch_interval,
            "options": {"expires": max(settings.dispatch_interval, 1.0) * 2},
        },
        "sweep-recovery-and-notifications": {
            "task": "tasks.recovery.sweep",
            "schedule": settings.sweep_interval,
            "options": {"expires": max(settings.sweep_interval, 1.0) * 2},
        },
        "dispatch-health-probes": {
            "task": "tasks.probes.dispatch_probes",
            "schedule": settings.probe_interval,
            "options": {"expires": max(settings.probe_interval, 1.0) * 2},
        },
    }


def _streaming(settings) -> dict[str, dict[str, Any]]:
    """Real-time alerts: a short tick on the ``ingest`` queue reads the rows written since the last
    one (``monitor.stream.tick``). It expires after two intervals so a backlog of ticks never piles
    up behind a slow one; a claim on the cursor makes overlapping ticks harmless."""
    if not settings.stream_interval:
        return {}
    return {"stream-new-predictions": {"task": "tasks.ingest.stream", "schedule": settings.stream_interval,
                                       "options": {"expires": max(settings.stream_interval, 1.0) * 2}}}


def _segment_sweep(settings) -> dict[str, dict[str, Any]]:
    """Orphan segment files (``monitor.logstore.sweep``): the sweep lists the whole log store, and
    an orphan only costs disk, so it runs rarely (86400 is a good interval). Off unless the
    operator sets ``segment_sweep_interval``: only they know that no other database (a staging
    SQLite file beside prod's, a second deployment on the same bucket) writes under the same root,
    whose segments this database's rows would not name."""
    if not settings.segment_sweep_interval:
        return {}
    return {"sweep-orphan-segments": {"task": "tasks.ingest.sweep_segments",
                                      "schedule": settings.segment_sweep_interval,
                                      "options": {"expires": settings.segment_sweep_interval}}}
