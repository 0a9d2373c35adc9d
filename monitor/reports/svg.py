"""Inline SVG charts for the HTML report: pure functions, data in, ``<svg>`` string out.

Hand-written because the report must be one offline file (no matplotlib in the worker image, no JS).
Each chart has a viewBox, width=100%, a ``<title>`` (accessible name) and per-mark tooltips. All
text from data goes through :func:`_esc`: model and metric names are user input.
"""

from __future__ import annotations

import html
import math
import sys
from datetime import datetime

from monitor.reports import timeaxis

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4b5563"]
WINDOW_COLOR, BASELINE_COLOR, INK, MUTED, GRID = "#2563eb", "#b6bcc6", "#1f2937", "#6b7280", "#e5e7eb"
BAR_W, LINE_W = 820.0, 960.0  # natural sizes; charts shrink below these on narrow screens
ANOMALY_RING = 'fill="none" stroke="#b91c1c" stroke-width="2.2"'
CHAR_W = 6.6  # rough width of one 12px glyph, used to lay out labels without a font engine


def _esc(text: object) -> str:
    """XML-escape anything destined for SVG text or attributes (quotes included)."""
    return html.escape(str(text), quote=True)


def finite(value: object) -> float | None:
    """Coerce to a finite float; None for anything that cannot be plotted (None, NaN, inf, junk)."""
    try:
        f = math.nan if isinstance(value, bool) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt(value: object) -> str:
    """Short human number: thousands separators for big values, 3 decimals for ratios, 'n/a' for gaps."""
    f = finite(value)
    if f is None:
        return "n/a"
    if abs(f) >= 1e12:
        return f"{f:.3g}"
    return f"{int(f):,}" if f == int(f) and abs(f) >= 1000 else f"{f:,.1f}" if abs(f) >= 100 else f"{f:.3f}"


def fmt_count(value: object) -> str:
    """Counts print as integers with separators; non-integral or missing values degrade gracefully."""
    f = finite(value)
    return "n/a" if f is None else f"{int(f):,}" if f == int(f) and abs(f) < 1e12 else fmt(f)


def _truncate(text: str, limit: int) -> str:
    """Keep long names from overrunning their column; the full name stays in a <title>."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    """Wrap marks in a responsive, accessible root element.

    width=100% lets a chart shrink on narrow screens; max-width at the viewBox size keeps it from
    growing past 1:1, so text stays at its designed size instead of ballooning in wide containers.
    """
    width = max(width, 24 + len(title) * 8.0)  # never clip the heading
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" style="max-width:{width:.0f}px" preserveAspectRatio="xMidYMid meet" role="img" '
        f'font-family="{_esc(FONT)}" font-size="12" fill="{INK}">'
    )
    heading = f'<text x="8" y="20" font-size="14" font-weight="600">{_esc(title)}</text>'
    return "".join([head, f"<title>{_esc(title)}</title>", heading, *body, "</svg>"])


def _attrs(attrs: dict) -> str:
    """Keyword attrs use underscores for dashes (font_size -> font-size); values are escaped."""
    return "".join(f' {k.replace("_", "-")}="{_esc(v)}"' for k, v in attrs.items())


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: object) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{_attrs(attrs)}>{_esc(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, **attrs: object) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{_attrs(attrs)}/>'


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] so axes read 0, 0.2, 0.4 rather than 0.137, 0.274."""
    big = sys.float_info.max
    lo, hi = max(lo, -big), min(hi if hi > lo else lo + 1.0, big)
    raw = hi / count - lo / count
    if raw <= 0:  # lo + 1.0 == lo at huge magnitudes
        return [lo - abs(lo) * 0.1 - 1, lo + abs(lo) * 0.1 + 1]
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), raw)  # raw: denormal ranges
    start, stop = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [t for i in range(start, stop + 1) if math.isfinite(t := float(f"{i * step:.12g}"))]  # no fp noise
    return ticks if len(ticks) >= 2 else [lo, hi]


def _frac(v: float, lo: float, hi: float) -> float:
    """Position of v in [lo, hi] as 0..1; halves first so ranges near float max cannot overflow."""
    span = hi / 2 - lo / 2
    return (v / 2 - lo / 2) / span if span > 0 else 0.5


def bar_comparison(items: list[tuple[str, float | None, float | None]], title: str) -> str:
    """Horizontal grouped bars, window vs baseline per metric.

    Horizontal because metric names are long and read best left-aligned; a missing value draws no
    bar and a literal "n/a" so the gap is visible rather than looking like a zero.
    """
    rows = [(str(name), finite(w), finite(b)) for name, w, b in items]
    if not rows:
        return _svg(BAR_W, 60, title, [_text(8, 44, "no metrics", fill=MUTED)])
    values = [v for _, w, b in rows for v in (w, b) if v is not None]
    lo, hi = min([0.0, *values]), max([0.0, *values])
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    ticks = _nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]
    left, right, top, bar_h, group_h = 150.0, BAR_W - 70.0, 52.0, 14.0, 42.0
    height = top + group_h * len(rows) + 28

    def x(v: float) -> float:
        return left + _frac(v, lo, hi) * (right - left)

    body = [f'<rect x="150" y="30" width="12" height="12" fill="{WINDOW_COLOR}"/>', _text(167, 40, "window"),
            f'<rect x="240" y="30" width="12" height="12" fill="{BASELINE_COLOR}"/>', _text(257, 40, "baseline")]
    for t in ticks:
        body.append(_line(x(t), top - 6, x(t), height - 24, GRID))
        body.append(_text(x(t), height - 10, f"{t:g}", "middle", fill=MUTED, font_size=10))
    for i, (name, win, base) in enumerate(rows):
        y0 = top + i * group_h
        body.append(_text(left - 8, y0 + bar_h + 4, _truncate(name, 20), "end"))
        body.append(_bar(x, y0, bar_h, win, WINDOW_COLOR, f"{name} window"))
        body.append(_bar(x, y0 + bar_h + 2, bar_h, base, BASELINE_COLOR, f"{name} baseline"))
    body.append(_line(x(0.0), top - 6, x(0.0), height - 24, MUTED))
    return _svg(BAR_W, height, title, body)


def _bar(x, y: float, h: float, value: float | None, color: str, label: str) -> str:
    """One bar from zero to value, its number just right of it (or 'n/a' at the zero axis)."""
    zero = x(0.0)
    if value is None:
        return _text(zero + 4, y + h - 3, "n/a", fill=MUTED, font_style="italic")
    x0, x1 = sorted((zero, x(value)))
    return (f'<rect x="{x0:.1f}" y="{y:.1f}" width="{x1 - x0:.1f}" height="{h:.1f}" fill="{color}" rx="2">'
            f"<title>{_esc(label)}: {_esc(fmt(value))}</title></rect>"
            + _text(x1 + 4, y + h - 3, fmt(value), font_size=11))


def _blend(share: float) -> str:
    """Light slate -> strong blue; perceptually ordered enough for a 2-10 class matrix."""
    a, b = (241, 245, 249), (29, 78, 216)
    r, g, bl = (round(p + (q - p) * share) for p, q in zip(a, b))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heatmap(labels: list[str], matrix: list[list[int]], title: str) -> str:
    """Confusion matrix: rows actual, columns predicted, counts in cells.

    Colour is the row-normalised share (recall per class), because raw counts would make the
    majority class dominate and hide exactly the errors someone is looking for.
    """
    rows = [list(r) if isinstance(r, (list, tuple)) else [] for r in (matrix or [])]
    n = max(len(labels or []), len(rows), max((len(r) for r in rows), default=0))
    if n == 0:
        return _svg(320, 60, title, [_text(8, 44, "no data", fill=MUTED)])
    names = [str(labels[i]) if labels and i < len(labels) else str(i) for i in range(n)]
    cells = [[finite(r[j]) if j < len(r) else None for j in range(n)] for r in rows + [[]] * (n - len(rows))]
    cell = max(28.0, min(76.0, 420.0 / n))
    left = 40 + min(max(len(s) for s in names), 12) * CHAR_W
    top = 72.0
    body = [
        _text(left + n * cell / 2, 42, "predicted", "middle", fill=MUTED),
        _text(14, top + n * cell / 2, "actual", "middle", fill=MUTED,
              transform=f"rotate(-90 14 {top + n * cell / 2:.1f})"),
        _text(left + n * cell + 8, top - 8, "total", fill=MUTED, font_size=10),
    ]
    for j, name in enumerate(names):
        body.append(_text(left + (j + 0.5) * cell, top - 8, _truncate(name, 8), "middle"))
    for i, name in enumerate(names):
        body.extend(_heat_row(i, name, names, cells[i], left, top, cell))
    width = left + n * cell + 70
    return _svg(max(width, 260), top + n * cell + 16, title, body)


def _heat_row(i: int, name: str, names: list[str], counts: list[float | None], left: float,
              top: float, cell: float) -> list[str]:
    """One actual-class row: label, shaded cells with counts, and the row total the shares use."""
    total = sum(c for c in counts if c is not None)
    y = top + i * cell
    out = [_text(left - 8, y + cell / 2 + 4, _truncate(name, 12), "end")]
    size = 14 if cell >= 60 else 12 if cell >= 40 else 10
    for j, count in enumerate(counts):
        share = (count or 0.0) / total if total > 0 else 0.0
        share = min(max(share, 0.0), 1.0)
        tip = f"actual {name}, predicted {names[j]}: {fmt_count(count)} ({share:.1%} of row)"
        out.append(
            f'<rect x="{left + j * cell:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
            f'fill="{_blend(share)}" stroke="#ffffff"><title>{_esc(tip)}</title></rect>'
        )
        ink = "#ffffff" if share > 0.5 else INK
        out.append(_text(left + (j + 0.5) * cell, y + cell / 2 + 4, fmt_count(count), "middle",
                         fill=ink, font_size=size))
    out.append(_text(left + len(counts) * cell + 8, y + cell / 2 + 4, fmt_count(total), fill=MUTED, font_size=10))
    return out


def _parse_time(text: str) -> datetime | None:
    """ISO string -> datetime, or None so callers can fall back to treating x as a plain label."""
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _x_positions(xs: list[str]) -> tuple[list[str], dict[str, float]]:
    """Order x labels and map them to [0, 1].

    Real timestamps are placed proportionally to time so an irregular schedule looks irregular;
    if any label is not a timestamp (or tz-naive and aware are mixed) fall back to even spacing.
    """
    unique = sorted(set(xs))
    timed = [(_parse_time(u), u) for u in unique]
    try:
        if all(t is not None for t, _ in timed):
            timed.sort()
            unique, span = [u for _, u in timed], (timed[-1][0] - timed[0][0]).total_seconds()
            if span > 0:
                return unique, {u: (t - timed[0][0]).total_seconds() / span for t, u in timed}
    except TypeError:  # naive and aware timestamps mixed: keep the string order
        pass
    if len(unique) == 1:
        return unique, {unique[0]: 0.5}
    return unique, {u: i / (len(unique) - 1) for i, u in enumerate(unique)}


def line_chart(series: dict[str, list[tuple[str, float | None]]], title: str,
               thresholds: dict[str, float] | None = None, anomalies: dict[str, list[int]] | None = None,
               events: list[dict] | None = None) -> str:
    """KPI history: one polyline per series over time, points as circles, dashed threshold lines.

    A None value breaks the line (a gap is information: the run had no labelled data), and isolated
    points still get a circle so a single-run history is visible. ``anomalies`` holds indices into
    each series' list (as given) that a detector flagged; those points get a red ring. ``events``
    (``[{"at", "kind": "deploy"|"rollback"|"retrain", "label"}]``) inside the plotted time span are
    vertical labelled lines, so a KPI step can be read against what was done to the model.
    """
    flagged = _flagged(series or {}, anomalies or {})
    clean = {str(k): [(str(p[0]), finite(p[1])) for p in v if isinstance(p, (list, tuple)) and len(p) >= 2]
             for k, v in (series or {}).items()}
    limits = {str(k): f for k, v in (thresholds or {}).items() if (f := finite(v)) is not None}
    values = [v for pts in clean.values() for _, v in pts if v is not None] + list(limits.values())
    xs = [x for pts in clean.values() for x, _ in pts]
    if not values or not xs:
        return _svg(LINE_W, 60, title, [_text(8, 44, "no data", fill=MUTED)])
    order, pos = _x_positions(xs)
    pad = 0.0 if max(values) > min(values) else abs(values[0]) * 0.1 or 1.0  # flat: band, not a 0-height axis
    ticks = _nice_ticks(min(values) - pad, max(values) + pad)
    rings = any(v is not None and x in flagged.get(k, ()) for k, pts in clean.items() for x, v in pts)
    legend, top = _line_legend(list(clean), LINE_W, rings)
    left, right, bottom = 56.0, LINE_W - 20.0, top + 240.0

    def px(x: str) -> float:
        return left + pos[x] * (right - left)

    def py(v: float) -> float:
        return bottom - _frac(v, ticks[0], ticks[-1]) * (bottom - top)

    body = legend + _line_axes(ticks, order, left, right, top, bottom, px, py)
    for i, (name, pts) in enumerate(clean.items()):
        pts = sorted(pts, key=lambda p: pos[p[0]])
        body.extend(_series_marks(name, pts, PALETTE[i % len(PALETTE)], px, py, flagged.get(name, set())))
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(clean)}
    for name, limit in limits.items():
        y = py(limit)
        color = colors.get(name, MUTED)
        body.append(_line(left, y, right, y, color, stroke_dasharray="6 4", stroke_width="1.5"))
        body.append(_text(right - 4, y - 5, f"{name} threshold {fmt(limit)}", "end", fill=color, font_size=10))
    body.extend(_event_marks(events, order, pos, left, right, top, bottom))
    return _svg(LINE_W, bottom + 36, title, body)


def _event_marks(events, order, pos, left, right, top, bottom) -> list[str]:
    times = [(t, x) for x in order if (t := timeaxis.parse(x)) is not None]
    if len(times) < 2 or len(times) != len(order):
        return []
    (start, first), (end, _) = times[0], times[-1]
    try:
        marks = timeaxis.events_in(events, start, end)
    except TypeError:
        return []
    out = []
    for at, text, colour in marks:
        x = left + (at - start).total_seconds() / ((end - start).total_seconds() or 1) * (right - left)
        out.append(f'<g class="event"><title>{_esc(text)} at {_esc(at.isoformat())}</title>'
                   + _line(x, top, x, bottom, colour, stroke_dasharray="2 3", stroke_width="1.5")
                   + _text(x + 3, top + 10, _truncate(text, 24), fill=colour, font_size=10) + "</g>")
    return out


def _flagged(series: dict, anomalies: dict) -> dict[str, set[str]]:
    """The x labels of the points each series' anomaly indices point at."""
    out = {}
    for name, indices in anomalies.items():
        pts = series.get(name)
        if isinstance(pts, (list, tuple)) and isinstance(indices, (list, tuple)):
            out[str(name)] = {str(pts[i][0]) for i in indices if type(i) is int and 0 <= i < len(pts)
                              and isinstance(pts[i], (list, tuple)) and len(pts[i]) >= 2}
    return out


def _line_legend(names: list[str], width: float, rings: bool = False) -> tuple[list[str], float]:
    """Legend swatches that wrap onto more rows when there are many series; returns the plot top."""
    out, x, y = [], 56.0, 40.0
    for i, name in enumerate([*names, *([None] if rings else [])]):
        label = "anomaly" if name is None else _truncate(name, 28)
        w = 24 + len(label) * CHAR_W + 18
        if x + w > width - 10 and x > 56:
            x, y = 56.0, y + 18
        if name is None:
            out.append(f'<circle cx="{x + 9:.1f}" cy="{y - 4:.1f}" r="6" {ANOMALY_RING}/>')
        else:
            out.append(_line(x, y - 4, x + 18, y - 4, PALETTE[i % len(PALETTE)], stroke_width="2.5"))
        out.append(_text(x + 24, y, label))
        x += w
    return out, y + 22


def _line_axes(ticks, order, left, right, top, bottom, px, py) -> list[str]:
    """Horizontal grid with y ticks, and a thinned-out set of time labels along the bottom."""
    out = []
    for t in ticks:
        out.append(_line(left, py(t), right, py(t), GRID))
        out.append(_text(left - 6, py(t) + 4, f"{t:g}", "end", fill=MUTED, font_size=10))
    shown = _spaced(order, px, 90.0)
    names = timeaxis.labels(shown)
    for x in shown:
        out.append(_line(px(x), bottom, px(x), bottom + 4, MUTED))
        anchor = "start" if px(x) - left < 40 else "end" if right - px(x) < 40 else "middle"
        out.append(_text(px(x), bottom + 18, names[x], anchor, fill=MUTED, font_size=10))
    out.append(_line(left, bottom, right, bottom, MUTED))
    return out


def _spaced(order: list[str], px, gap: float) -> list[str]:
    """Pick x labels left to right at least `gap` px apart, always ending on the latest point."""
    shown: list[str] = []
    for x in order:
        if not shown or px(x) - px(shown[-1]) >= gap:
            shown.append(x)
    if shown[-1] != order[-1]:
        if len(shown) > 1 and px(order[-1]) - px(shown[-1]) < gap:
            shown.pop()
        shown.append(order[-1])
    return shown


def _series_marks(name: str, pts: list[tuple[str, float | None]], color: str, px, py,
                  flagged: set[str] = frozenset()) -> list[str]:
    """Polyline segments split at gaps, a circle (with tooltip) per real point, rings on anomalies."""
    out, segment = [], []
    for x, v in pts + [("", None)]:
        if v is not None:
            segment.append(f"{px(x):.1f},{py(v):.1f}")
            continue
        if len(segment) > 1:
            out.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{color}" '
                       f'stroke-width="2" stroke-linejoin="round"/>')
        segment = []
    for x, v in pts:
        if v is not None:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="3.5" fill="{color}" stroke="#ffffff">'
                       f"<title>{_esc(name)} at {_esc(x)}: {_esc(fmt(v))}</title></circle>")
        if v is not None and x in flagged:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="7.5" fill="none" stroke="#ffffff" '
                       f'stroke-width="5"/><circle class="anomaly" cx="{px(x):.1f}" cy="{py(v):.1f}" r="7.5" '
                       f'{ANOMALY_RING}>'
                       f"<title>anomaly: {_esc(name)} at {_esc(x)}: {_esc(fmt(v))}</title></circle>")
    return out
