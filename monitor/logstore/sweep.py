"""Segment files nobody references: the leftovers of a write whose transaction never committed.

A batch's file is written *before* its ``log_segments`` row commits (``monitor.store.logs``), so
a crash, a killed worker or a failed commit in between leaves a file that no row names (and a
crash inside ``write_segment`` leaves its ``.tmp``). Nothing reads such a file; it only takes
space. :func:`stale_segment_files` lists the files under a log store root that look like
segments (``model=<id>/<kind>/<32 hex>.parquet``, or its temporary) and were last written before
a cutoff; ``monitor.store.logs.sweep_orphan_segments`` deletes those no row references.

The cutoff is the safety: a file written a moment ago may belong to a transaction that is about
to commit, so only files older than any transaction lives (an hour by default) are candidates.
A file whose age the filesystem does not tell is never a candidate.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator

import fsspec

#: what write_segment names a file (and its temporary), relative to the root
SEGMENT_NAME = re.compile(r"model=\d+/(predictions|labels)/[0-9a-f]{32}\.parquet(\.[0-9a-f]{8}\.tmp)?")


def _modified(info: dict) -> float | None:
    """Seconds since the epoch of the last write, as local files and object stores report it."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def stale_segment_files(root: str, older_than: dt.timedelta, now: float | None = None) -> Iterator[str]:
    """The locations (spelled as ``write_segment`` stores them: ``root`` + relative path) of the
    segment files and temporaries under ``root`` last written more than ``older_than`` ago."""
    fs, base = fsspec.core.url_to_fs(root)
    base = base.rstrip("/")
    if not fs.exists(base):
        return
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    for path, info in fs.find(base, detail=True).items():
        relative = path[len(base):].lstrip("/")
        if not path.startswith(base) or not SEGMENT_NAME.fullmatch(relative):
            continue
        modified = _modified(info)
        if modified is not None and modified < cutoff:
            yield f"{root.rstrip('/')}/{relative}"
