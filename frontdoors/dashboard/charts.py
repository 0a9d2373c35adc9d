"""Server-rendered SVG for the dashboard: sparklines, KPI history charts and the alerts timeline.

The KPI history charts are the HTML report's (:func:`monitor.reports.svg.line_chart`: threshold
lines, anomaly rings, tooltips), grouped by unit so ratios, milliseconds and requests per minute
never share an axis. Sparklines and the timeline are small and new. Everything here returns an
SVG string in which every piece of data text is escaped, so templates mark it safe.
"""

from __future__ import annotations

import datetime as dt

from monitor.alerts.lifecycle import OPEN_STATES
from monitor.reports.svg import MUTED, PALETTE, _esc, _svg, _text, _truncate, finite, fmt, line_chart

Points = list[tuple[str, float | None]]

#: (chart title, the KPIs it plots); a KPI matching no group gets a chart of its own
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Model performance", ("accuracy", "precision", "recall", "f1", "roc_auc", "precision_macro",
                           "recall_macro", "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted")),
    ("Regression error", ("mae", "rmse")),
    ("R\u00b2", ("r2",)),
    ("Latency (ms)", ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")),
    ("Error rate", ("error_rate",)),
    ("Throughput (requests / min)", ("throughput_rpm",)),
    ("Availability (health probes)", ("availability",)),
    ("Serving host (%)", ("host_cpu_pct_p95", "host_memory_pct_p95", "host_disk_pct_max")),
]
SKIPPED = {"log_loss"}  # unbounded and noisy; the report leaves it out of the history too


def sparkline(points: Points, label: str, width: int = 180, height: int = 30) -> str:
    """A tiny trend line of one KPI (oldest left), its latest point dotted; gaps break the line."""
    values = [(i, f) for i, (_, v) in enumerate(points) if (f := finite(v)) is not None]
    if not values:
        return ""
    lo, hi = min(v for _, v in values), max(v for _, v in values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    step = (width - 6) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{3 + i * step:.1f},{height - 4 - (v - lo) / (hi - lo) * (height - 8):.1f}"

    lines, run = [], []
    for i, (_, v) in enumerate([*points, ("", None)]):
        if (f := finite(v)) is not None:
            run.append(xy(i, f))
            continue
        if len(run) > 1:
            lines.append(run)
        run = []
    last_x, last_y = xy(*values[-1]).split(",")
    tip = f"{label}: {fmt(values[-1][1])} now; {fmt(min(v for _, v in values))} to " \
          f"{fmt(max(v for _, v in values))} over the last {len(values)} checks"
    body = "".join(f'<polyline points="{" ".join(r)}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" '
                   'vector-effect="non-scaling-stroke"/>'
                   for r in lines)
    return (f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" preserveAspectRatio="none" role="img"><title>{_esc(tip)}</title>{body}'
            f'<circle cx="{last_x}" cy="{last_y}" r="2.5" fill="{PALETTE[0]}"/></svg>')


def kpi_charts(history: dict[str, Points], thresholds: dict[str, float],
               flagged: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(title, svg) per group of KPIs that has data, with each KPI's threshold and anomaly rings.

    ``flagged`` holds, per KPI, the timestamps of points a detector flagged; the chart wants
    indices into the series it is given, so they are looked up here.
    """
    live = {name: pts for name, pts in history.items()
            if name not in SKIPPED and any(finite(v) is not None for _, v in pts)}
    grouped = [(title, [n for n in names if n in live]) for title, names in GROUPS]
    known = {n for _, names in GROUPS for n in names}
    grouped += [(name, [name]) for name in live if name not in known]
    charts = []
    for title, names in grouped:
        if not names:
            continue
        series = {n: live[n] for n in names}
        limits = {n: thresholds[n] for n in names if finite(thresholds.get(n)) is not None}
        rings = {n: [i for i, (ts, _) in enumerate(series[n]) if ts in flagged.get(n, ())] for n in names}
        charts.append((title, line_chart(series, title, limits or None, {n: r for n, r in rings.items() if r} or None)))
    return charts


def alert_timeline(alerts: list, now: dt.datetime) -> str:
    """One lane per (rule, segment), a bar per alert episode from first seen to resolved (or now).

    ``alerts`` are rows with ``rule``, ``segment``, ``state``, ``severity``, ``message``,
    ``first_seen`` and ``resolved_at``. Firing bars are red (critical) or amber; resolved ones grey.
    """
    if not alerts:
        return ""
    lanes = list(dict.fromkeys(_lane(a) for a in sorted(alerts, key=lambda a: a.first_seen)))
    start = min(min(a.first_seen for a in alerts), now - dt.timedelta(minutes=1))  # at least a minute wide
    span = (now - start).total_seconds()
    width, left, right, top, lane_h = 960.0, 200.0, 940.0, 44.0, 24.0

    def x(t: dt.datetime) -> float:
        return left + min(max((t - start).total_seconds() / span, 0.0), 1.0) * (right - left)

    body = []
    for i, lane in enumerate(lanes):
        body.append(_text(left - 8, top + i * lane_h + 16, _truncate(lane, 28), "end"))
    for a in alerts:
        y = top + lanes.index(_lane(a)) * lane_h + 4
        x0, x1 = x(a.first_seen), x(a.resolved_at or now)
        color = "#9ca3af" if a.state not in OPEN_STATES else "#dc2626" if a.severity == "critical" else "#d97706"
        tip = f"#{a.id} {_lane(a)} {a.state} ({a.severity}) since {a.first_seen:%Y-%m-%d %H:%M}: {a.message}"
        body.append(f'<rect class="alert-bar" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 3.0):.1f}" height="16" '
                    f'rx="3" fill="{color}"><title>{_esc(tip)}</title></rect>')
    bottom = top + len(lanes) * lane_h + 4
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{MUTED}"/>')
    body.append(_text(left, bottom + 16, f"{start:%Y-%m-%d %H:%M} UTC", fill=MUTED, font_size=10))
    body.append(_text(right, bottom + 16, "now", "end", fill=MUTED, font_size=10))
    return _svg(width, bottom + 26, "Alerts over time", body)


def _lane(alert) -> str:
    return f"{alert.rule} [{alert.segment}]" if alert.segment else alert.rule
