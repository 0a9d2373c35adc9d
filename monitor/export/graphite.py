"""A check run's figures in Graphite's plaintext protocol: ``<path> <value> <timestamp>\\n`` over TCP.

After each run modelwatch writes, stamped with the window's end (so a re-sent run overwrites its
own points instead of adding new ones)::

    <prefix>.<model>.kpi.<kpi>                  accuracy, recall, roc_auc, ... (whole window)
    <prefix>.<model>.service.<kpi>              latency_p95_ms, error_rate, availability, host_* ...
    <prefix>.<model>.drift.<column>.score       the drift test's effect size (PSI, Wasserstein, ...)
    <prefix>.<model>.drift.<column>.p_value     the adjusted p-value
    <prefix>.<model>.drift.<column>.drifted     1 when the column drifted, else 0
    <prefix>.<model>.alerts.open.<severity>     open (firing or acknowledged) alerts, per severity
    <prefix>.<model>.alerts.open.total

Model, KPI and column names are sanitised into single path components (:func:`path_component`);
a figure that has no value this window (no labels, a skipped column) is left out, which Graphite
draws as a gap rather than a misleading zero. See docs/graphite.md.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.policy import OPEN_STATES, SEVERITIES
from monitor.config import check_graphite_prefix
from monitor.db.schema import Alert, CheckRun, KpiValue, Model
from monitor.service.host import HOST_KPIS
from monitor.service.probes import PROBE_KPIS
from monitor.service import SERVICE_KPIS

#: KPIs that describe the serving service rather than the model's predictions.
SERVICE_NAMES = frozenset((*SERVICE_KPIS, *PROBE_KPIS, *HOST_KPIS))
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class RunMetrics:
    """What one finished run sends: whole-window figures of one model at one window end."""

    model: str
    window_end: dt.datetime
    kpis: Mapping[str, float | None] = field(default_factory=dict)
    service: Mapping[str, float | None] = field(default_factory=dict)
    drift: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    open_alerts: Mapping[str, int] = field(default_factory=dict)


def path_component(name: str) -> str:
    """One dot-free Graphite path component: every run of other characters becomes ``_``.

    Graphite splits paths at dots and its wildcards use ``*?[]{}``, so a model called
    ``churn.v2 (eu)`` would otherwise open two folders and break queries.

    >>> path_component("churn.v2 (eu)")
    'churn_v2_eu_'
    >>> path_component("amount")
    'amount'
    """
    cleaned = _UNSAFE.sub("_", name.strip())
    return cleaned or "_"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _timestamp(moment: dt.datetime) -> int:
    if moment.tzinfo is None:  # the database hands back naive UTC on SQLite
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp())


def metric_lines(prefix: str, metrics: RunMetrics) -> list[str]:
    """The plaintext-protocol lines for one run, newline-terminated, in a stable order.

    >>> run = RunMetrics("fraud", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), kpis={"recall": 0.5},
    ...                  drift={"amount": {"score": 0.31, "p_value": 0.001, "drifted": True}},
    ...                  open_alerts={"critical": 1, "warning": 0})
    >>> print("".join(metric_lines("modelwatch", run)), end="")
    modelwatch.fraud.kpi.recall 0.5 1767225600
    modelwatch.fraud.drift.amount.score 0.31 1767225600
    modelwatch.fraud.drift.amount.p_value 0.001 1767225600
    modelwatch.fraud.drift.amount.drifted 1 1767225600
    modelwatch.fraud.alerts.open.critical 1 1767225600
    modelwatch.fraud.alerts.open.warning 0 1767225600
    modelwatch.fraud.alerts.open.total 1 1767225600
    """
    base = f"{check_graphite_prefix(prefix)}.{path_component(metrics.model)}"
    stamp = _timestamp(metrics.window_end)
    points: list[tuple[str, Any]] = []
    points += [(f"kpi.{path_component(k)}", v) for k, v in sorted(metrics.kpis.items())]
    points += [(f"service.{path_component(k)}", v) for k, v in sorted(metrics.service.items())]
    for column, figures in sorted(metrics.drift.items()):
        points += [(f"drift.{path_component(column)}.{name}", figures.get(name))
                   for name in ("score", "p_value", "drifted")]
    points += [(f"alerts.open.{path_component(s)}", n) for s, n in sorted(metrics.open_alerts.items())]
    if metrics.open_alerts:
        points.append(("alerts.open.total", sum(metrics.open_alerts.values())))
    lines = []
    for path, value in points:
        number = _number(value)
        if number is not None:
            lines.append(f"{base}.{path} {number:.12g} {stamp}\n")
    return lines


def drift_figures(drift_json: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per column, from the detect stage's drift results (``ColumnDrift.to_json()``); skipped
    columns (too few values, absent on one side) have no figures."""
    figures = {}
    for result in drift_json:
        if result.get("skipped"):
            continue
        p_value = result.get("p_value_adjusted")
        figures[result["column"]] = {"score": result.get("effect_size"),
                                     "p_value": p_value if p_value is not None else result.get("p_value"),
                                     "drifted": bool(result.get("drifted"))}
    return figures


def run_metrics(session: Session, run_id: str) -> RunMetrics:
    """Read one run's figures from the database (whole window: segment rows are left out)."""
    run = session.get(CheckRun, run_id)
    if run is None:
        raise LookupError(f"no check run {run_id!r} to export")
    model = session.get(Model, run.model_id)
    rows = session.scalars(select(KpiValue).where(KpiValue.run_id == run_id, KpiValue.segment == ""))
    kpis: dict[str, float | None] = {}
    service: dict[str, float | None] = {}
    for row in rows:
        (service if row.name in SERVICE_NAMES else kpis)[row.name] = row.value
    open_counts = dict.fromkeys(SEVERITIES, 0)
    counted = session.execute(select(Alert.severity, func.count()).where(
        Alert.model_id == run.model_id, Alert.state.in_(OPEN_STATES)).group_by(Alert.severity))
    for severity, count in counted:
        open_counts[severity] = count
    drift = drift_figures(((run.results or {}).get("detection") or {}).get("drift") or [])
    return RunMetrics(model.name, run.window_end, kpis=kpis, service=service, drift=drift, open_alerts=open_counts)


def send(host: str, port: int, lines: list[str], timeout: float) -> int:
    """Write the lines on one TCP connection; returns the bytes sent.

    Raises ``OSError`` (refused, unreachable, timed out) for the caller to retry; carbon answers
    nothing, so a completed write is all the protocol can confirm.
    """
    payload = "".join(lines).encode()
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(payload)
    return len(payload)
