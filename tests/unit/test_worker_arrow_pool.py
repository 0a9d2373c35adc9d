"""A worker process allocates Arrow buffers from the C library's malloc, the heap numpy uses,
unless the operator chose Arrow's allocator (``workers.ARROW_POOL``): with two heaps a 1M-row
check's peak RSS was about 60 MB higher (docs/performance.md, "A 1M-row check").

Each case runs in a fresh interpreter: Arrow reads ``ARROW_DEFAULT_MEMORY_POOL`` once, when
pyarrow is first imported, so what matters is what a new worker process sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# what `celery -A workers.app worker` imports first, then a task module's pyarrow
# (a Parquet read's buffers come from the pool Arrow's C++ readers use: counted in the system pool)
PROBE = """
import workers.app  # noqa: F401
import pyarrow as pa
import pyarrow.parquet as pq
pq.write_table(pa.table({"x": list(range(100_000))}), "t.parquet")
before = pa.system_memory_pool().bytes_allocated()
read = pq.read_table("t.parquet")
print(pa.default_memory_pool().backend_name, pa.system_memory_pool().bytes_allocated() - before >= 800_000)
"""


def _worker_pool(tmp_path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    environ.update(PYTHONPATH=str(ROOT), MODELWATCH_DATA_DIR=str(tmp_path / "data"),
                   MODELWATCH_DATABASE_URL=f"sqlite:///{tmp_path}/modelwatch.db", **env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=environ, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    backend, read_with_malloc = out.stdout.split()
    assert read_with_malloc == str(backend == "system")
    return backend


def test_a_worker_process_allocates_arrow_buffers_with_malloc(tmp_path):
    assert _worker_pool(tmp_path) == "system"


def test_the_operators_choice_of_arrow_allocator_is_kept(tmp_path):
    import pyarrow as pa

    chosen = "jemalloc" if "jemalloc" in pa.supported_memory_backends() else "mimalloc"
    if chosen not in pa.supported_memory_backends():
        pytest.skip("this pyarrow build has neither jemalloc nor mimalloc")
    assert _worker_pool(tmp_path, ARROW_DEFAULT_MEMORY_POOL=chosen) == chosen
