"""Tables for people (rich), "ago" times (humanize), and versioned JSON for scripts (frontdoors.schemas)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # rich and humanize are imported where a command prints
    from rich.console import Console

#: cells longer than this are cut with an ellipsis (a message must not push the table off screen)
MAX_CELL = 60


def when(value: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    """``2026-12-03 00:05:05 (3 minutes ago)`` in UTC; a naive value is UTC (the database's convention).

    >>> t = dt.datetime(2026, 12, 3, 0, 5, 5, tzinfo=dt.timezone.utc)
    >>> when(t, now=t + dt.timedelta(minutes=3)), when(t, now=t - dt.timedelta(hours=2))
    ('2026-12-03 00:05:05 (3 minutes ago)', '2026-12-03 00:05:05 (2 hours from now)')
    """
    if value is None:
        return "-"
    import humanize

    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{value.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S} ({humanize.naturaltime(now - value)})"


def _console() -> Console:
    from rich.console import Console

    # Not a terminal (a pipe, a CI log, CliRunner): wide enough that rows are never wrapped.
    terminal = sys.stdout.isatty()
    return Console(file=sys.stdout, width=None if terminal else 240, highlight=False, soft_wrap=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "(none)") -> None:
    if not rows:
        click.echo(empty)
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        grid.add_column(Text(str(header)), overflow="ellipsis", max_width=MAX_CELL, no_wrap=True)
    for row in rows:  # Text, not str: a cell like "rule [segment]" is data, not rich markup
        grid.add_row(*(Text("-" if cell is None else str(cell)) for cell in row))
    _console().print(grid)


def emit_json(schema: str, **fields: Any) -> None:
    """Print one ``--json`` output, checked against its versioned schema, named as its file in
    docs/schemas/ (``"status"`` for status.schema.json; ``frontdoors.schemas.SCHEMAS``).

    By name, so that a command imports the schemas (pydantic building some 20 models) only when it
    prints JSON, not each time it runs (tests/unit/test_import_cost.py).
    """
    from frontdoors.schemas import SCHEMAS, render

    click.echo(render(SCHEMAS[schema], **fields))
