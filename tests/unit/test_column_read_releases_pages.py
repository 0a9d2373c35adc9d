"""A window's column read hands the C library's freed pages back (glibc ``malloc_trim``), not only
the Arrow pool's: numpy's transients (and, in a worker, Arrow's: ``workers.ARROW_POOL``) live in
malloc's heap, and pages it kept after one column's sorts and gathers would raise the worker's RSS
under the next one (``monitor.logstore.columns._release_arrow_pages``).

Run in a fresh interpreter, so the heap is the probe's alone."""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import datetime as dt, sys
import numpy as np
from monitor.logstore import columns, files, tables

class Segment:
    def __init__(self, id, written):
        self.id, self.location, self.checksum, self.bytes = id, written.location, written.checksum, written.bytes

now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
rows = [{"request_id": str(i), "ts": now, "prediction": 1, "features": {"x": float(i)}} for i in range(100)]
segment = Segment(1, files.write_segment(sys.argv[1], 1, "predictions", tables.table_from_rows("predictions", rows)))
window = columns.open_window([segment], [], now - dt.timedelta(hours=1), now + dt.timedelta(hours=1), None)

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096

# a fragmented heap, as a column's transients leave it: 1,500 arrays of 80 KB (below glibc's mmap
# threshold, so inside the heap), one in 50 still alive
arrays = [np.ones(10_000) for _ in range(1_500)]
alive = arrays[::50]
del arrays
before = rss()
assert window.column("x", cache=False).tolist() == [float(i) for i in range(100)]
print(before - rss())
"""


def _glibc() -> bool:
    try:
        ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    return Path("/proc/self/statm").exists()


@pytest.mark.skipif(not _glibc(), reason="malloc_trim is glibc's; other C libraries have none")
def test_a_column_read_returns_the_heaps_freed_pages(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    released = int(out.stdout.split()[-1])
    assert released > 60 * 2**20, f"only {released / 2**20:.1f} MB of about 118 MB freed went back to the system"
