"""The report's data sections (estimated performance, segments, drift, variance, data quality) and
the small HTML building blocks every section shares. The sections' markup is in Jinja2 templates
(``templates/``); this module prepares their rows and the filters they use.

Same rules as :mod:`monitor.reports.html`: any key may be missing, None or the wrong type, and every
string from the summary (column, segment, category and metric names, messages) is escaped. A section
whose data is absent is left out; a section whose check ran and found nothing says "none".
"""

from __future__ import annotations

import html

from monitor.reports import charts, svg

DASH = "\u2014"
BADGE_CLASS = {  # value -> CSS class; a fixed map so data never reaches a class attribute
    "firing": "crit", "critical": "crit", "failed": "crit", "drifted": "crit",
    "warning": "warn", "running": "warn", "scheduled": "warn", "insufficient_data": "muted", "skipped": "muted",
    "ok": "ok", "succeeded": "ok", "resolved": "ok", "cancelled": "muted",
    "pending_approval": "warn", "acknowledged": "warn", "rejected": "muted", "expired": "muted", "recovered": "ok", "not_recovered": "crit", "inconclusive": "muted",
}
OUTPUT_COLUMNS = {"__score__": "model score", "__prediction__": "model prediction"}
TESTS = {"ks": "KS", "chi2": "\u03c7\u00b2", "brown_forsythe": "Brown\u2013Forsythe",
         "levene": "Levene", "wasserstein": "Wasserstein", "jensen_shannon": "Jensen\u2013Shannon",
         "psi": "PSI", "domain_classifier": "domain classifier"}


def esc(value: object) -> str:
    """Escape for HTML text and attributes; None renders as an em dash so gaps look intentional."""
    return DASH if value is None or value == "" else html.escape(str(value), quote=True)


def as_dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list:
    return value if isinstance(value, list) else []


def num(value: object) -> str:
    return DASH if svg.finite(value) is None else svg.fmt(value)


def count(value: object) -> str:
    return DASH if svg.finite(value) is None else svg.fmt_count(value)


def plain(value: object) -> str:
    """Thresholds are settings (10 %, 0.72), so print them as written rather than padded."""
    f = svg.finite(value)
    return DASH if f is None else f"{f:g}"


def p_value(value: object) -> str:
    """p-values span hundreds of orders of magnitude; 3 decimals would print most drift as 0.000."""
    f = svg.finite(value)
    if f is None:
        return DASH
    if f == 0 or f >= 0.001:
        return f"{f:.3f}"
    mantissa, exponent = f"{f:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}".replace("-", "\u2212")


def badge(value: object) -> str:
    if value is None or value == "":
        return DASH
    return f'<span class="badge {BADGE_CLASS.get(str(value), "")}">{esc(str(value).replace("_", " "))}</span>'


def table(headers: list[str], rows: list[str], empty: str, numeric: frozenset = frozenset()) -> str:
    """A table, or a short 'none' line: an empty grid suggests missing data, not an empty result."""
    if not rows:
        return f'<p class="none">{esc(empty)}</p>'
    head = "".join(f'<th class="num">{esc(h)}</th>' if h in numeric else f"<th>{esc(h)}</th>" for h in headers)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{esc(title)}</h2>{body}</section>'


def column_name(name: object) -> str:
    """Display name of a feature; the model's own outputs get words instead of dunder names."""
    return OUTPUT_COLUMNS.get(str(name), str(name)) if name is not None else ""


def words(text: object) -> object:
    """Messages name the model's outputs in words, not by their reserved column names."""
    if not isinstance(text, str):
        return text
    for name, label in OUTPUT_COLUMNS.items():
        text = text.replace(name, label)
    return text


def subject(item: dict) -> str:
    """What a finding or alert is about: the feature of a drift row (``feature=income`` -> income,
    ``output=__score__`` -> model score, a segment in brackets), else its metric, else its rule."""
    parts = dict(p.split("=", 1) for p in str(item.get("segment") or "").split(",") if "=" in p)
    named = parts.pop("feature", None) or parts.pop("output", None) or parts.pop("column", None)
    parts.pop("check", None)
    rest = ", ".join(f"{k}={v}" for k, v in parts.items())
    if named:
        return column_name(named) + (f" ({rest})" if rest else "")
    base = str(item.get("metric") or item.get("rule") or "")
    return base + (f" ({rest})" if rest else "")


def method_name(name: object) -> str:
    return esc(TESTS.get(str(name), str(name).replace("_", " ")) if name else None)


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
