"""Probe results and host samples: the operational time series beside the prediction logs.

pandas is imported by the two readers that build frames (the check's service KPIs): ``modelwatch
status`` (``latest_kpis``) and ``agent`` (``save_host_samples``) only read or write rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.schema import CheckRun, HostMetric, KpiValue, ProbeResult
from monitor.store.common import insert_ignoring_conflicts

if TYPE_CHECKING:
    import pandas as pd

AGENT = "agent"


@dataclass(frozen=True)
class InsertCounts:
    accepted: int
    duplicates: int


def save_probe(session: Session, model_id: int, slot: int, outcome: dict[str, Any]) -> bool:
    """Store one probe; False if this (model, slot) already has one (a duplicate probe)."""
    row = {"model_id": model_id, "slot": slot, "ts": outcome["ts"], "ok": bool(outcome["ok"]),
           "status_code": outcome.get("status_code"), "latency_ms": outcome.get("latency_ms"),
           "error": outcome.get("error")}
    return bool(insert_ignoring_conflicts(session, ProbeResult.__table__, [row]))


def probed_slot(session: Session, model_id: int, slot: int) -> bool:
    return session.scalar(select(ProbeResult.id).where(ProbeResult.model_id == model_id,
                                                        ProbeResult.slot == slot)) is not None


def probes_between(session: Session, model_id: int, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """The model's probes with ``ts`` in ``[start, end)``, oldest first."""
    rows = session.execute(
        select(ProbeResult.ts, ProbeResult.ok, ProbeResult.status_code, ProbeResult.latency_ms, ProbeResult.error)
        .where(ProbeResult.model_id == model_id, ProbeResult.ts >= start, ProbeResult.ts < end)
        .order_by(ProbeResult.ts)
    ).all()
    import pandas as pd

    return pd.DataFrame(rows, columns=["ts", "ok", "status_code", "latency_ms", "error"])


def save_host_samples(session: Session, rows: list[dict[str, Any]]) -> InsertCounts:
    """Store samples (``HostSample.to_row``); a re-sent sample (same host, source, ts) is a duplicate."""
    inserted = insert_ignoring_conflicts(session, HostMetric.__table__, rows)
    return InsertCounts(len(inserted), len(rows) - len(inserted))


def host_samples_between(session: Session, model_id: int, start: dt.datetime, end: dt.datetime,
                         source: str = AGENT) -> pd.DataFrame:
    """The model's samples from ``source`` with ``ts`` in ``[start, end)``, oldest first."""
    rows = session.execute(
        select(HostMetric.ts, HostMetric.host, HostMetric.cpu_pct, HostMetric.memory_pct, HostMetric.disk_pct,
               HostMetric.rss_bytes)
        .where(HostMetric.model_id == model_id, HostMetric.source == source,
               HostMetric.ts >= start, HostMetric.ts < end)
        .order_by(HostMetric.ts)
    ).all()
    import pandas as pd

    return pd.DataFrame(rows, columns=["ts", "host", "cpu_pct", "memory_pct", "disk_pct", "rss_bytes"])


def recent_host_samples(session: Session, *, source_prefix: str | None = None, limit: int = 100) -> list[HostMetric]:
    """The newest samples (of sources starting with ``source_prefix``, e.g. ``worker:``), newest first."""
    query = select(HostMetric).order_by(HostMetric.ts.desc()).limit(limit)
    if source_prefix:
        query = query.where(HostMetric.source.like(f"{source_prefix}%"))
    return list(session.scalars(query))


def latest_kpis(session: Session, model_id: int, names: tuple[str, ...]) -> dict[str, float]:
    """``names``' values (when not None) from the model's newest succeeded check run."""
    run_id = session.scalar(select(CheckRun.id).where(CheckRun.model_id == model_id, CheckRun.status == "succeeded")
                            .order_by(CheckRun.window_end.desc(), CheckRun.created_at.desc()).limit(1))
    if run_id is None:
        return {}
    rows = session.execute(select(KpiValue.name, KpiValue.value).where(
        KpiValue.run_id == run_id, KpiValue.segment == "", KpiValue.name.in_(names))).all()
    return {name: value for name, value in rows if value is not None}
