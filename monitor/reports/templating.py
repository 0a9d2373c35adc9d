"""The report's Jinja2 environment: templates shipped as package data, autoescape always on.

Autoescape matters more here than in most pages: model, feature, segment and metric names and
every message are user input, and the report is opened from mail and chat attachments. What is
still built in Python (the SVG charts, a few cell fragments from ``fmt.py``) escapes its own
strings and is passed in as ``Markup``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, Undefined
from markupsafe import Markup


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("monitor.reports", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    from monitor.reports import fmt

    env.filters.update(badge=lambda v: Markup(fmt.badge(_value(v))), num=lambda v: fmt.num(_value(v)),
                       plain=lambda v: fmt.plain(_value(v)), words=lambda v: fmt.words(_value(v)),
                       subject=lambda item: fmt.subject(item if isinstance(item, dict) else {}), text=_text,
                       column=lambda v: fmt.column_name(_value(v)),
                       method=lambda v: Markup(fmt.method_name(_value(v))),
                       pvalue=lambda v: fmt.p_value(_value(v)))
    return env


def _value(value: object) -> object:
    """A missing key of a partial summary reads as None, as the Python-built sections treat it."""
    return None if isinstance(value, Undefined) else value


def _text(value: object) -> object:
    """None, empty and missing values print as an em dash, so gaps look intentional."""
    value = _value(value)
    return "\u2014" if value is None or value == "" else value


@cache
def css() -> str:
    return files("monitor.reports").joinpath("templates/report.css").read_text(encoding="utf-8")


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
