"""Plain tables for people, JSON for scripts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import click


def when(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    seconds = (dt.datetime.now(dt.timezone.utc) - value).total_seconds()
    if abs(seconds) < 90:
        relative = f"{abs(seconds):.0f}s"
    elif abs(seconds) < 5400:
        relative = f"{abs(seconds) / 60:.0f}m"
    else:
        relative = f"{abs(seconds) / 3600:.1f}h"
    return f"{value:%Y-%m-%d %H:%M:%S} ({'in ' + relative if seconds < 0 else relative + ' ago'})"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "(none)") -> None:
    if not rows:
        click.echo(empty)
        return
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [min(60, max(len(row[i]) for row in cells)) for i in range(len(headers))]
    for index, row in enumerate(cells):
        line = "  ".join((c if len(c) <= 60 else c[:57] + "...").ljust(w) for c, w in zip(row, widths))
        click.echo(click.style(line.rstrip(), bold=True) if index == 0 else line.rstrip())


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str, sort_keys=False))
