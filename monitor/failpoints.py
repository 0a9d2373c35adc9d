"""Failpoints: named places where a failure drill can pause or break a process on purpose.

``MODELWATCH_FAILPOINTS="evaluate=sleep(5);alert.after=sleep(30)"`` makes the evaluate stage
sleep five seconds before it starts and the alert stage thirty after it committed, which is how
the tests kill a worker at a known point of a chain. ``name=raise`` raises instead. Unset (the
default), a failpoint costs one dict lookup.
"""

from __future__ import annotations

import functools
import re
import time

from monitor.errors import ConfigError

_ACTION = re.compile(r"^(sleep)\((\d+(?:\.\d+)?)\)$|^(raise)$")


class FailpointError(RuntimeError):
    """Raised by a ``name=raise`` failpoint."""


@functools.cache
def parse(spec: str) -> dict[str, tuple[str, float]]:
    points: dict[str, tuple[str, float]] = {}
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        name, _, action = item.partition("=")
        match = _ACTION.match(action.strip())
        if not name or not match:
            raise ConfigError(f"MODELWATCH_FAILPOINTS: cannot read {item!r}; expected NAME=sleep(SECONDS) or NAME=raise")
        points[name.strip()] = ("sleep", float(match.group(2))) if match.group(1) else ("raise", 0.0)
    return points


def hit(spec: str, name: str) -> None:
    point = parse(spec).get(name) if spec else None
    if point is None:
        return
    action, seconds = point
    if action == "sleep":
        time.sleep(seconds)
    else:
        raise FailpointError(f"failpoint {name!r} raised on purpose")
