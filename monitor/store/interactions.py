"""Interaction events: insert them, join them to a check's frozen window, pool earlier windows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from monitor.db.schema import CheckRun, Interaction, KpiValue
from monitor.kpis.interactions import COUNT_KPIS, PooledReference
from monitor.store.common import insert_ignoring_conflicts
from monitor.store.log_windows import LABEL_LEAD, load_window
from monitor.store.logs import InsertCounts

#: how many earlier runs to look at per pooled window (a 1h window checked every 5m is 12 runs)
_RUNS_PER_WINDOW = 64


def insert_interactions(session: Session, model_id: int, rows: list[dict[str, Any]]) -> InsertCounts:
    """Insert normalised events; the same (request id, event, ts) again is a duplicate."""
    records = [{"model_id": model_id, "request_id": r["request_id"], "event": r["event"], "value": r.get("value"),
                "ts": r["ts"]} for r in rows]
    inserted = insert_ignoring_conflicts(session, Interaction.__table__, records)
    return InsertCounts(len(inserted), len(records) - len(inserted))


def has_interactions(session: Session, model_id: int) -> bool:
    """Whether the model ever logged an interaction (then its checks watch them)."""
    return bool(session.scalar(select(exists().where(Interaction.model_id == model_id))))


def window_events(session: Session, run: CheckRun, served_before: dt.datetime | None = None
                  ) -> tuple[int, list[tuple[str, str, float | None]]]:
    """The frozen window's impressions (predictions served before ``served_before``, if given) and
    ``(request_id, event, value)`` of every event whose request is one of them.

    The window's request ids come from its loaded frame (the log store); the events are read from
    the database from ``LABEL_LEAD`` before the window starts (an event follows its impression)
    and matched to those ids in memory.
    """
    window = load_window(session, run.model_id, run.window_start, run.window_end, run.version, run.watermark,
                         columns=["request_id", "ts"])
    if served_before is not None and len(window):
        window = window[window["ts"] < served_before]
    if not len(window):
        return 0, []
    events = session.execute(
        select(Interaction.request_id, Interaction.event, Interaction.value)
        .where(Interaction.model_id == run.model_id, Interaction.ts >= run.window_start - LABEL_LEAD)
        .order_by(Interaction.id)).all()
    if not events:
        return len(window), []
    served = set(window["request_id"].tolist())
    return len(window), [tuple(row) for row in events if row[0] in served]


def pooled_reference(session: Session, run: CheckRun, windows: int) -> PooledReference:
    """Add up the interaction counts of up to ``windows`` earlier runs whose windows neither
    overlap this run's nor each other (overlapping windows would count an impression twice and
    overstate how sure the test is). Newest first; runs of every version count."""
    names = COUNT_KPIS
    rows = session.execute(
        select(CheckRun.id, CheckRun.window_start, CheckRun.window_end, KpiValue.name, KpiValue.value)
        .join(KpiValue, KpiValue.run_id == CheckRun.id)
        .where(CheckRun.model_id == run.model_id, CheckRun.id != run.id, CheckRun.status != "failed",
               CheckRun.window_end <= run.window_start, KpiValue.segment == "", KpiValue.name.in_(names))
        .order_by(CheckRun.window_end.desc(), CheckRun.created_at.desc())
        .limit(windows * _RUNS_PER_WINDOW * len(names))
    ).all()
    per_run: dict[str, dict[str, Any]] = {}
    for run_id, start, end, name, value in rows:
        entry = per_run.setdefault(run_id, {"start": start, "end": end})
        entry[name] = value
    totals = dict.fromkeys(names, 0.0)
    boundary, picked = run.window_start, 0
    for entry in per_run.values():  # newest window first (dicts keep insertion order)
        if picked >= windows:
            break
        if entry["end"] > boundary or any(entry.get(n) is None for n in names):
            continue
        for name in names:
            totals[name] += entry[name]
        boundary, picked = entry["start"], picked + 1
    return PooledReference(impressions=int(totals["interaction_impressions"]),
                           clicks=int(totals["interaction_clicks"]),
                           conversions=int(totals["interaction_conversions"]), windows=picked)
