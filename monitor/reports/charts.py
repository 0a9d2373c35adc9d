"""Distribution plots for the drift section: reference vs window, as paired bars of shares.

Counts are normalised to shares of each side's non-missing rows, because the reference is usually
much bigger than one window and raw counts would make every window look flat. Numeric columns
come with the reference's bin edges (the window is binned on the same edges) plus ``below`` /
``above`` counts for values outside them; categorical ones with category names and counts, and an
``other`` count for window values the reference never had. Built on :mod:`monitor.reports.svg`'s
primitives so the look (fonts, colours, tooltips, escaping) matches the other charts.
"""

from __future__ import annotations

from monitor.reports.svg import BASELINE_COLOR, CHAR_W, GRID, MUTED, WINDOW_COLOR, _esc, _line, _nice_ticks, \
    _svg, _text, _truncate, finite, fmt_count

DIST_W = 480.0
MAX_CATEGORIES = 12  # more bars than this would be unreadable at this size; the rest fold into "other"


def _counts(raw: object, n: int) -> list[float]:
    """Exactly n non-negative counts; junk and gaps count as 0 so one bad cell cannot sink the plot."""
    values = list(raw) if isinstance(raw, (list, tuple)) else []
    return [max(finite(v) or 0.0, 0.0) for v in (values + [0] * n)[:n]]


def _extra(side: dict, key: str) -> float:
    return max(finite(side.get(key)) or 0.0, 0.0)


def _short(v: float) -> str:
    """Compact axis number: 52k rather than 52,000 or 5.2e+04, so edge labels stay narrow."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def _numeric_bins(ref: dict, win: dict) -> tuple[list[tuple[str, str, float, float]], list[tuple[float, str]]]:
    """Bins as (axis label, tooltip label, reference count, window count), plus out-of-range bins,
    and the edge labels as (position in bin widths from the left, text)."""
    edges = next((e for e in (ref.get("edges"), win.get("edges"))
                  if isinstance(e, (list, tuple)) and len(e) >= 2 and all(finite(x) is not None for x in e)), None)
    if edges is None:
        return [], []
    edges = [float(x) for x in edges]
    n = len(edges) - 1
    r, w = _counts(ref.get("counts"), n), _counts(win.get("counts"), n)
    bins = [("", f"{_short(edges[i])} to {_short(edges[i + 1])}", r[i], w[i]) for i in range(n)]
    offset = 0
    if _extra(ref, "below") or _extra(win, "below"):
        bins.insert(0, ("<", f"below {_short(edges[0])}", _extra(ref, "below"), _extra(win, "below")))
        offset = 1
    if _extra(ref, "above") or _extra(win, "above"):
        bins.append((">", f"above {_short(edges[-1])}", _extra(ref, "above"), _extra(win, "above")))
    marks = [(offset + k, _short(x)) for k, x in enumerate(edges)]
    marks += [(i + 0.5, b[0]) for i, b in enumerate(bins) if b[0]]
    return bins, marks


def _by_name(side: dict) -> dict[str, float]:
    """Category -> count from either shape: parallel ``categories``/``counts`` lists or a counts dict."""
    counts = side.get("counts")
    if isinstance(counts, dict):
        return {str(k): max(finite(v) or 0.0, 0.0) for k, v in counts.items()}
    names = side.get("categories") if isinstance(side.get("categories"), (list, tuple)) else []
    return dict(zip((str(c) for c in names), _counts(counts, len(names))))


def _categorical_bins(ref: dict, win: dict) -> list[tuple[str, str, float, float]]:
    r, w = _by_name(ref), _by_name(win)
    names = list(dict.fromkeys([*r, *w]))
    r_total, w_total = sum(r.values()) or 1.0, sum(w.values()) or 1.0
    if len(names) > MAX_CATEGORIES:  # keep the categories that matter most on either side
        names.sort(key=lambda c: -max(r.get(c, 0.0) / r_total, w.get(c, 0.0) / w_total))
        names = names[: MAX_CATEGORIES - 1]
    other_r = _extra(ref, "other") + sum(v for c, v in r.items() if c not in names)
    other_w = _extra(win, "other") + sum(v for c, v in w.items() if c not in names)
    bins = [(c, c, r.get(c, 0.0), w.get(c, 0.0)) for c in names]
    if other_r or other_w:
        bins.append(("(other)", "other / unseen categories", other_r, other_w))
    return bins


def _pct(t: float, step: float) -> str:
    return f"{t:.0%}" if step >= 0.01 else f"{t:.1%}"


def distribution(reference: dict, window: dict, title: str) -> str:
    """Paired vertical bars per bin or category: reference (grey) next to window (blue), as shares.

    Numeric input is recognised by ``edges``; anything else is treated as categorical. Missing
    values are not a bin (they are not part of the distribution) but their share is printed under
    the plot, since a jump in missing values is often the real story.
    """
    ref = reference if isinstance(reference, dict) else {}
    win = window if isinstance(window, dict) else {}
    numeric = "edges" in ref or "edges" in win
    bins, marks = _numeric_bins(ref, win) if numeric else (_categorical_bins(ref, win), [])
    title = _truncate(str(title), 56)
    r_total, w_total = sum(b[2] for b in bins), sum(b[3] for b in bins)
    if not bins or (r_total <= 0 and w_total <= 0):
        return _svg(DIST_W, 60, title, [_text(8, 44, "no data", fill=MUTED)])
    shares = [(label, tip, r / r_total if r_total else None, w / w_total if w_total else None, r, w)
              for label, tip, r, w in bins]
    rotate = not numeric and len(bins) > 4
    longest = max(len(_truncate(b[0], 14)) for b in bins)
    left, right, top = 48.0, DIST_W - 14.0, 56.0
    bottom = top + 140.0
    label_h = (longest * CHAR_W * 0.7 + 14) if rotate else 34.0 if any(m[1] in ("<", ">") for m in marks) else 22.0
    ticks = _nice_ticks(0.0, max(s for b in shares for s in (b[2], b[3]) if s is not None) or 1.0, 4)
    step = ticks[1] - ticks[0]

    def py(v: float) -> float:
        return bottom - v / ticks[-1] * (bottom - top)

    body = _legend(r_total, w_total)
    for t in ticks:
        body.append(_line(left, py(t), right, py(t), GRID))
        body.append(_text(left - 6, py(t) + 4, _pct(t, step), "end", fill=MUTED, font_size=10))
    group = (right - left) / len(shares)
    bar = max(min(group * 0.4, 26.0), 1.5)
    for i, (label, tip, rs, ws, rc, wc) in enumerate(shares):
        x0 = left + i * group + group / 2 - bar
        body.append(_dbar(x0, bar, rs, rc, py, BASELINE_COLOR, f"reference, {tip}"))
        body.append(_dbar(x0 + bar, bar, ws, wc, py, WINDOW_COLOR, f"window, {tip}"))
    body.extend(_x_labels(shares, marks, numeric, rotate, left, group, top, bottom))
    body.append(_line(left, bottom, right, bottom, MUTED))
    note, y = _missing_note(ref, win, r_total, w_total), bottom + label_h + 8
    if note:
        body.append(_text(left, y + 6, note, fill=MUTED, font_size=10))
        y += 14
    return _svg(DIST_W, y + 4, title, body)


def _legend(r_total: float, w_total: float) -> list[str]:
    return [f'<rect x="48" y="30" width="12" height="12" fill="{BASELINE_COLOR}"/>',
            _text(65, 40, f"reference (n={fmt_count(r_total)})"),
            f'<rect x="230" y="30" width="12" height="12" fill="{WINDOW_COLOR}"/>',
            _text(247, 40, f"window (n={fmt_count(w_total)})")]


def _dbar(x: float, w: float, share: float | None, count: float, py, color: str, tip: str) -> str:
    """One bar of a pair; zero-height bars still get a sliver so the tooltip has a target."""
    if share is None:
        return ""
    y, base = py(share), py(0.0)
    h = max(base - y, 0.0)
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{_esc(tip)}: {share:.1%} ({_esc(fmt_count(count))} rows)</title></rect>")


def _x_labels(shares: list, marks: list, numeric: bool, rotate: bool, left: float, group: float,
              top: float, bottom: float) -> list[str]:
    """Numeric: bin edges at group boundaries, thinned to fit; categorical: names under each pair."""
    out = []
    if numeric:
        edges = [m for m in marks if m[1] not in ("<", ">")]
        every = max(1, int(44 // group) + 1)
        keep = [m for k, m in enumerate(edges) if k % every == 0]
        if edges[-1] not in keep:  # always label the top edge; drop its neighbour if they would collide
            if (edges[-1][0] - keep[-1][0]) * group < 40:
                keep.pop()
            keep.append(edges[-1])
        for pos, label in keep:
            x = left + pos * group
            out.append(_line(x, bottom, x, bottom + 4, MUTED))
            out.append(_text(x, bottom + 16, label, "middle", fill=MUTED, font_size=10))
        for pos, label in (m for m in marks if m[1] in ("<", ">")):  # out-of-range bins: a second row
            x = left + pos * group
            edge = x + (group if label == "<" else -group) / 2  # dotted line where the reference range ends
            out.append(_line(edge, top, edge, bottom, MUTED, stroke_dasharray="2 3"))
            out.append(_text(x, bottom + 29, "below" if label == "<" else "above", "middle", fill=MUTED,
                             font_size=9))
        return out
    for i, (label, *_rest) in enumerate(shares):
        x = left + (i + 0.5) * group
        if rotate:
            out.append(_text(x + 3, bottom + 12, _truncate(label, 14), "end", font_size=10,
                             transform=f"rotate(-40 {x + 3:.1f} {bottom + 12:.1f})"))
        else:
            out.append(_text(x, bottom + 16, _truncate(label, max(int(group / 6.0), 4)), "middle", font_size=10))
    return out


def _missing_note(ref: dict, win: dict, r_total: float, w_total: float) -> str:
    r_miss, w_miss = _extra(ref, "missing"), _extra(win, "missing")
    if not r_miss and not w_miss:
        return ""
    r_share = r_miss / (r_total + r_miss) if r_total + r_miss else 0.0
    w_share = w_miss / (w_total + w_miss) if w_total + w_miss else 0.0
    return f"missing values (not plotted): reference {r_share:.1%}, window {w_share:.1%}"
