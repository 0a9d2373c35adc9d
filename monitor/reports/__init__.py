"""Check-run reports: a self-contained HTML page with inline SVG plots (no JS, no network).

:func:`render_html` and :func:`report_page` are imported on first use (PEP 562): ``modelwatch
status`` reads the service KPIs' names and their one-line brief from ``monitor.reports.service``,
and need not import the page's templates (jinja2) to print a table.
"""

from typing import Any

__all__ = ["render_html", "report_page"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from monitor.reports import html

        return getattr(html, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
