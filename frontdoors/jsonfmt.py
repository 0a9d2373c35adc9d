"""One JSON dialect for scripts: every ``--json`` output and every API answer.

Times are ISO-8601 in UTC with a ``Z`` (``2026-12-03T00:05:05.235958Z``), the form pydantic
already gives the API's typed answers; :func:`normalize` brings the rest (``datetime`` objects,
and the ``+00:00`` / space-separated strings stored in run results) to the same form, so a
script parses one format whichever door it asked.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

#: a stored UTC timestamp in any of the spellings Python produces (``T`` or space, ``+00:00`` or ``Z``)
_UTC_STRING = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:\+00:00|Z)$")


def utc_iso(value: dt.datetime) -> str:
    """``value`` as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; a naive datetime is taken as UTC (the database's convention).

    >>> utc_iso(dt.datetime(2026, 12, 3, 0, 5, 5, 235958, tzinfo=dt.timezone.utc))
    '2026-12-03T00:05:05.235958Z'
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def normalize(value: Any) -> Any:
    """``value`` with every datetime, and every UTC timestamp string, in the one format.

    >>> normalize({"at": "2026-12-03 00:05:05.235958+00:00", "n": [1, "x"]})
    {'at': '2026-12-03T00:05:05.235958Z', 'n': [1, 'x']}
    """
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        match = _UTC_STRING.match(value)
        return f"{match[1]}T{match[2]}Z" if match else value
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(item) for item in value]
    return value
