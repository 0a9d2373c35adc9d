"""Check-run reports: a self-contained HTML page with inline SVG plots (no JS, no network)."""

from monitor.reports.html import render_html, report_page

__all__ = ["render_html", "report_page"]
