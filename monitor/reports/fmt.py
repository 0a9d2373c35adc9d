"""The report's small formatting helpers: numbers, p-values, badges, escaped text, and the words
shown for the model's own outputs and the statistical tests. Shared by the sections, the templates'
filters (``templating.py``) and the dashboard.
"""

from __future__ import annotations

import html

from monitor.reports import svg

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
