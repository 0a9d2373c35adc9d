"""Start the longest tests first, spread over the pytest workers (``make test`` runs
``pytest -n 4 --dist worksteal``).

Why: the suite's wall time is bounded below by its longest tests (the fault drill, the Redis chain,
the sentinel failover: a minute or two each). In collection order they sat in the middle of
one worker's share and started minutes in, so the run ended with one worker finishing a long
test while the others were idle. worksteal hands each worker a contiguous share of the
collection (the first N/4 items, then a quarter of the rest, ...) and idle workers steal from the
*tail* of the others' queues. So this module reorders the collection so that each share *begins*
with its part of the long tests, dealt longest first to the least loaded share, followed by the
rest in collection order (tests of one file stay together, module fixtures are built once).

The durations come from ``tests/support/durations.json`` (seconds per test id, from a measured
run); a test that is not listed counts as short. Refresh it after a run with
``pytest ... --durations=0 | tee run.log`` and ``python -m tests.support.longest_first run.log``.
Without xdist, or with ``MODELWATCH_TEST_ORDER=collection``, the order is left alone. Ordering
never changes what a test checks, only when it starts.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

DURATIONS = Path(__file__).with_name("durations.json")
#: Tests shorter than this (s) keep their place; only the long ones are dealt out.
LONG = 5.0
#: What an unlisted test is assumed to take (s) when balancing the shares.
UNLISTED = 0.3


def load_durations(path: Path = DURATIONS) -> dict[str, float]:
    if not path.exists():
        return {}
    return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}


def worksteal_shares(count: int, workers: int) -> list[int]:
    """How many items xdist's worksteal scheduler sends each worker at first (its initial split).

    >>> worksteal_shares(10, 4)
    [2, 2, 3, 3]
    """
    shares, left = [], count
    for remaining in range(workers, 0, -1):
        shares.append(left // remaining)
        left -= shares[-1]
    return shares


def longest_first(ids: Sequence[str], durations: dict[str, float], workers: int,
                  groups: Sequence[str] | None = None) -> list[int]:
    """A permutation of ``range(len(ids))``: ``workers`` contiguous shares, each starting with its
    long tests (longest first), dealt so that the shares' estimated times are as even as they can be.

    ``groups`` names, per test, what it must stay next to: tests sharing a module-scoped fixture
    (a server, a browser, a venv) are dealt as one unit, in collection order, so the fixture is
    still built once.

    >>> longest_first(["a", "b", "c", "d", "e", "f"], {"e": 60, "f": 50, "a": 10}, 2)
    [4, 1, 2, 5, 0, 3]
    >>> longest_first(["a", "b", "c", "d", "e", "f"], {"e": 60, "f": 50, "a": 10}, 2, "xxxyyy")
    [3, 4, 5, 0, 1, 2]
    """
    if workers < 2 or len(ids) < workers:
        return list(range(len(ids)))
    units: dict[str, list[int]] = {}
    for index, group in enumerate(groups if groups is not None else ids):
        units.setdefault(group, []).append(index)

    def cost(unit: list[int]) -> float:
        return sum(durations.get(ids[i], 0.0) for i in unit)

    long = sorted((u for u in units.values() if max(durations.get(ids[i], 0.0) for i in u) >= LONG),
                  key=lambda u: -cost(u))
    shares = worksteal_shares(len(ids), workers)
    heads: list[list[int]] = [[] for _ in shares]
    load = [0.0] * workers
    for unit in long:
        fits = [w for w in range(workers) if len(heads[w]) + len(unit) <= shares[w]] or list(range(workers))
        target = min(fits, key=lambda w: load[w])
        heads[target] += unit
        load[target] += cost(unit)
    placed = {i for unit in long for i in unit}
    rest = [i for i in range(len(ids)) if i not in placed]
    order: list[int] = []
    for w in range(workers):
        take = max(0, shares[w] - len(heads[w]))
        order += heads[w] + rest[:take]
        rest = rest[take:]
    return order + rest


def reorder(items: list, durations: dict[str, float] | None = None) -> None:
    """Reorder pytest's ``items`` in place for the xdist worker count of this run (if any)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers < 2 or os.environ.get("MODELWATCH_TEST_ORDER", "").lower() == "collection":
        return
    order = longest_first([item.nodeid for item in items], load_durations() if durations is None else durations,
                          workers, [_group(item) for item in items])
    items[:] = [items[i] for i in order]


def _group(item) -> str:
    """The module's id for a test that uses a module- or class-scoped fixture, else its own id."""
    info = getattr(item, "_fixtureinfo", None)
    for definitions in (info.name2fixturedefs.values() if info is not None else ()):
        if any(d.scope in ("module", "class", "package") for d in definitions):
            return item.nodeid.split("::", 1)[0]
    return item.nodeid


_DURATION_LINE = re.compile(r"^\s*([0-9.]+)s (setup|call|teardown)\s+(\S.*?)\s*$")


def durations_from_report(text: str) -> dict[str, float]:
    """Seconds per test id (setup + call + teardown) from pytest's ``--durations=0`` report."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _DURATION_LINE.match(line)
        if match:
            totals[match.group(3)] = totals.get(match.group(3), 0.0) + float(match.group(1))
    return totals


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.support.longest_first RUN_LOG  (a pytest --durations=0 report)")
        return 2
    measured = durations_from_report(Path(argv[0]).read_text(errors="replace"))
    if not measured:
        print(f"{argv[0]} has no --durations report")
        return 1
    long = {name: round(seconds, 1) for name, seconds in sorted(measured.items()) if seconds >= LONG}
    DURATIONS.write_text(json.dumps(long, indent=1, sort_keys=True) + "\n")
    print(f"{DURATIONS}: {len(long)} tests of {LONG:.0f} s or more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
