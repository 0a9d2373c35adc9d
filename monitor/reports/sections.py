"""The report's data sections (estimated performance, segments, drift, variance, data quality) and
the small HTML building blocks every section shares. The sections' markup is in Jinja2 templates
(``templates/``); this module prepares their rows and the filters they use.

Same rules as :mod:`monitor.reports.html`: any key may be missing, None or the wrong type, and every
string from the summary (column, segment, category and metric names, messages) is escaped. A section
whose data is absent is left out; a section whose check ran and found nothing says "none".
"""

from __future__ import annotations

from monitor.reports import charts, svg
from monitor.reports.fmt import (  # noqa: F401  (re-exported: the sections' building blocks)
    BADGE_CLASS, DASH, OUTPUT_COLUMNS, TESTS, as_dict, as_list, badge, column_name, count, esc, method_name, num,
    p_value, plain, section, subject, table, words,
)


def _firing(s: dict, key: str) -> list[dict]:
    return [f for f in as_list(s.get("findings"))
            if isinstance(f, dict) and f.get("status") == "firing" and f.get(key)]


# ---------------------------------------------------------------- estimated performance


def estimated(s: dict) -> str:
    est = as_dict(s.get("estimated"))
    values = as_dict(est.get("kpis"))
    if not values:
        return ""
    lower, upper, kpis = as_dict(est.get("lower")), as_dict(est.get("upper")), as_dict(s.get("kpis"))
    hit = {str(f["metric"]) for f in _firing(s, "metric") if f.get("kind") == "estimated_performance_drop"}
    confidence = svg.finite(est.get("confidence"))
    band = f"{confidence:.0%} band" if confidence is not None and 0 < confidence < 1 else "Band"
    rows = []
    for name, value in values.items():
        lo, hi = lower.get(name), upper.get(name)
        spread = DASH if svg.finite(lo) is None and svg.finite(hi) is None else f"{num(lo)} \u2013 {num(hi)}"
        rows.append({"name": name, "breached": str(name) in hit, "value": value, "spread": spread,
                     "baseline": as_dict(kpis.get(name)).get("baseline")})
    n = svg.finite(est.get("n"))
    from monitor.reports import templating

    return templating.render("estimated.html.j2", rows=rows, band=band,
                             on=f" on {svg.fmt_count(n)} scored rows" if n is not None else "")


# ---------------------------------------------------------------- segments


def segments(s: dict) -> str:
    parts = {str(k): as_dict(v) for k, v in as_dict(s.get("segments")).items()}
    if not parts:
        return ""
    names = list(dict.fromkeys(str(k) for p in parts.values() for k in as_dict(p.get("kpis"))))
    hit = {(str(f["segment"]), str(f.get("metric"))) for f in _firing(s, "segment")}
    rows = []
    for seg, part in parts.items():
        values, base = as_dict(part.get("kpis")), as_dict(part.get("baseline"))
        cells = [{"value": values.get(name), "baseline": base.get(name), "breached": (seg, name) in hit}
                 for name in names]
        rows.append({"segment": seg, "flagged": any(key == seg for key, _ in hit), "rows": count(part.get("labelled_rows")),
                     "cells": cells})
    from monitor.reports import templating

    return templating.render("segments.html.j2", names=names, rows=rows)


# ---------------------------------------------------------------- data drift


def _versus(value: str, limit: object, over: bool) -> str:
    """A statistic next to the limit it is judged against; the statistic is emphasised when it crosses."""
    shown = f'<span class="over">{value}</span>' if over else value
    return shown if svg.finite(limit) is None else f"{shown} <small>vs {plain(limit)}</small>"


def _unseen(d: dict) -> str:
    names = [str(c) for c in as_list(d.get("unseen_categories"))]
    if not names:
        return DASH
    listed = " ".join(f"<code>{esc(c)}</code>" for c in names[:3])
    more = f" +{len(names) - 3} more" if len(names) > 3 else ""
    share = svg.finite(d.get("unseen_share"))
    return listed + more + (f" <small>({share:.1%} of rows)</small>" if share is not None else "")


def _drift_row(d: dict) -> dict:
    from markupsafe import Markup

    drifted, skipped = d.get("drifted") is True, d.get("skipped")
    status = badge("skipped") + f"<br><small>{esc(skipped)}</small>" if skipped else badge(
        "drifted" if drifted else "ok")
    p, p_limit = d.get("p_value_adjusted", d.get("p_value")), d.get("threshold_p_value")
    effect, e_limit = d.get("effect_size"), d.get("threshold_effect")
    p_over = None not in (svg.finite(p), svg.finite(p_limit)) and svg.finite(p) <= svg.finite(p_limit)
    e_over = None not in (svg.finite(effect), svg.finite(e_limit)) and svg.finite(effect) >= svg.finite(e_limit)
    test = f"{method_name(d.get('method'))} <small>\u00b7 {method_name(d.get('effect_method'))}</small>"
    return {"drifted": drifted, "title": d.get("message"), "column": column_name(d.get("column")),
            "status": Markup(status), "test": Markup(test), "p": Markup(_versus(p_value(p), p_limit, p_over)),
            "effect": Markup(_versus(num(effect), e_limit, e_over)), "unseen": Markup(_unseen(d)),
            "counts": f"{count(d.get('reference_count'))} / {count(d.get('current_count'))}"}


def _plot(column: str, dist: dict, d: dict) -> str:
    label = column_name(column)
    chart = charts.distribution(as_dict(dist.get("reference")), as_dict(dist.get("window")),
                                f"{label}: reference vs window")
    stats = []
    if d.get("p_value_adjusted", d.get("p_value")) is not None:
        stats.append(f"p (adjusted) {p_value(d.get('p_value_adjusted', d.get('p_value')))}")
    if svg.finite(d.get("effect_size")) is not None:
        stats.append(f"{method_name(d.get('effect_method'))} {num(d.get('effect_size'))}")
    caption = f"<figcaption>{esc(label)}{': ' if stats else ''}{', '.join(stats)}</figcaption>"
    return f"<figure>{chart}{caption}</figure>"


def drift(s: dict) -> str:
    entries = [d for d in as_list(s.get("drift")) if isinstance(d, dict)]
    dists = {str(k): v for k, v in as_dict(s.get("distributions")).items() if isinstance(v, dict)}
    if not entries and not dists:
        return ""
    entries.sort(key=lambda d: (d.get("drifted") is not True, bool(d.get("skipped"))))
    from markupsafe import Markup

    from monitor.reports import templating

    by_column = {str(d.get("column")): d for d in entries}
    order = list(dict.fromkeys([*(str(d.get("column")) for d in entries), *dists]))
    shown = [c for c in order if c in dists and by_column.get(c, {}).get("drifted") is True]
    rest = [c for c in order if c in dists and c not in shown]
    return templating.render(
        "drift.html.j2", rows=[_drift_row(d) for d in entries], drifted=sum(d.get("drifted") is True for d in entries),
        shown=[Markup(_plot(c, dists[c], by_column.get(c, {}))) for c in shown],
        rest=[Markup(_plot(c, dists[c], by_column.get(c, {}))) for c in rest])
