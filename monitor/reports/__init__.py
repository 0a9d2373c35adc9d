"""Check-run reports: a self-contained HTML page with inline SVG plots (no JS, no network).

:func:`render_html` and :func:`report_page` are imported on first use (PEP 562): ``modelwatch
status`` reads the service KPIs' names and their one-line brief from ``monitor.reports.service``,
and need not import the page's templates (jinja2) to print a table.
"""

from monitor import lazy

__all__ = ["render_html", "report_page"]

__getattr__ = lazy.exports(__name__, {"html": __all__})
