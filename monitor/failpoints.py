"""Failpoints: named places where a failure drill can pause or break a process on purpose.

``MODELWATCH_FAILPOINTS="evaluate=sleep(5);alert.after=sleep(30)"`` makes the evaluate stage
sleep five seconds before it starts and the alert stage thirty after it committed, which is how
the tests kill a worker at a known point of a chain. ``name=hold(/path/to/file)`` waits while
that file exists (at most :data:`HOLD_LIMIT` seconds): a drill holds a process at a point for
exactly as long as it needs, then lets it go by deleting the file. ``name=raise`` raises instead.
Unset (the default), a failpoint costs one dict lookup.
"""

from __future__ import annotations

import functools
import os
import re
import time

from monitor.errors import ConfigError

_ACTION = re.compile(r"^(sleep)\((\d+(?:\.\d+)?)\)$|^(raise)$|^(hold)\(([^()]+)\)$")
#: the longest a ``hold`` waits for its file to go, so a drill that forgot it cannot hang a worker
HOLD_LIMIT = 300.0


class FailpointError(RuntimeError):
    """Raised by a ``name=raise`` failpoint."""


@functools.cache
def parse(spec: str) -> dict[str, tuple[str, float | str]]:
    points: dict[str, tuple[str, float | str]] = {}
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        name, _, action = item.partition("=")
        match = _ACTION.match(action.strip())
        if not name or not match:
            raise ConfigError(f"MODELWATCH_FAILPOINTS: cannot read {item!r}; expected NAME=sleep(SECONDS), "
                              "NAME=hold(PATH) or NAME=raise")
        if match.group(1):
            points[name.strip()] = ("sleep", float(match.group(2)))
        elif match.group(4):
            points[name.strip()] = ("hold", match.group(5).strip())
        else:
            points[name.strip()] = ("raise", 0.0)
    return points


def hit(spec: str, name: str) -> None:
    point = parse(spec).get(name) if spec else None
    if point is None:
        return
    action, value = point
    if action == "sleep":
        time.sleep(float(value))
    elif action == "hold":
        deadline = time.monotonic() + HOLD_LIMIT
        while os.path.exists(str(value)) and time.monotonic() < deadline:
            time.sleep(0.1)
    else:
        raise FailpointError(f"failpoint {name!r} raised on purpose")
