"""Service KPIs of a window, from the prediction logs: a model that is accurate but slow or
failing is still broken.

``latency_p50_ms`` / ``latency_p95_ms`` / ``latency_p99_ms`` over rows that logged a latency,
``throughput_rpm`` (requests per minute over the window's length) and ``error_rate`` (share of rows
whose ``status`` is not one of :data:`OK_STATUSES`, over rows that logged a status).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OK_STATUSES = frozenset({"ok", "success", "200", "201", "204"})
SERVICE_KPIS = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "throughput_rpm", "error_rate")


def service_kpis(window: pd.DataFrame, window_seconds: float) -> dict[str, float | None]:
    """The window's service KPIs; a KPI whose input was never logged is None.

    >>> frame = pd.DataFrame({"latency_ms": [10.0, 20.0, 30.0, None], "status": ["ok", "ok", "error", None]})
    >>> kpis = service_kpis(frame, 60)
    >>> kpis["latency_p50_ms"], kpis["throughput_rpm"], round(kpis["error_rate"], 3)
    (20.0, 4.0, 0.333)
    """
    kpis: dict[str, float | None] = dict.fromkeys(SERVICE_KPIS)
    kpis["throughput_rpm"] = len(window) / (window_seconds / 60) if window_seconds > 0 else None
    if len(window) and "latency_ms" in window:
        column = window["latency_ms"]
        if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":  # the log store's float64: as is
            latency = column.to_numpy()
        else:
            latency = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        latency = latency[np.isfinite(latency)]
        if latency.size:
            p50, p95, p99 = np.percentile(latency, [50, 95, 99])
            kpis.update(latency_p50_ms=float(p50), latency_p95_ms=float(p95), latency_p99_ms=float(p99))
    if len(window) and "status" in window:
        # each distinct status normalised once, not each row (and nothing to do when none was logged)
        codes, distinct = pd.factorize(window["status"])  # a missing status is -1, as dropna() drops it
        logged = codes[codes >= 0]
        if len(logged):
            ok = pd.Series(distinct).astype(str).str.strip().str.lower().isin(OK_STATUSES).to_numpy(dtype=bool)
            kpis["error_rate"] = float((~ok[logged]).mean())
    return kpis
