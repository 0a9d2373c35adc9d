"""Jinja2 filters and globals: numbers, times and badges, formatted as the HTML report does.

Filters return plain strings and Jinja2 escapes them; none returns markup.
"""

from __future__ import annotations

import datetime as dt
import json

from jinja2 import Environment

from frontdoors.dashboard.views import relative
from monitor.reports import sections, svg

DASH = sections.DASH
BADGES = {**sections.BADGE_CLASS, "alerting": "warn", "critical": "crit", "unchecked": "muted",
          "pending_approval": "warn", "pending": "muted", "serving": "ok", "retired": "muted",
          "rolled_back": "crit", "registered": "muted"}


def num(value: object) -> str:
    return sections.num(value)


def pct(value: object) -> str:
    """A share (0.034) as a percent (3.40%)."""
    f = svg.finite(value)
    return DASH if f is None else f"{f * 100:.2f}%"


def change(value: object) -> str:
    f = svg.finite(value)
    return DASH if f is None else f"{f:+.1f}%".replace("-", "\u2212")


def when(value: dt.datetime | None) -> str:
    return DASH if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: dt.datetime | None) -> str:
    return "" if value is None else value.isoformat()


def badge_class(value: object) -> str:
    return BADGES.get(str(value), "")


def words(value: object) -> str:
    return DASH if value in (None, "") else str(value).replace("_", " ")


def method(value: object) -> str:
    """A statistical test's usual name (KS, chi-squared, Jensen-Shannon) rather than its key."""
    return DASH if not value else sections.TESTS.get(str(value), str(value).replace("_", " "))


def compact_json(value: object) -> str:
    return DASH if value in (None, {}, []) else json.dumps(value, sort_keys=True, default=str)


def install(env: Environment) -> None:
    env.filters.update(num=num, pct=pct, change=change, when=when, iso=iso, words=words,
                       p_value=sections.p_value, plain=sections.plain, count=sections.count,
                       badge_class=badge_class, column_name=sections.column_name, compact_json=compact_json,
                       method=method)
    env.globals.update(relative=relative, DASH=DASH)
