"""Celery wiring: the app (``celery -A workers.app``), its configuration and signals.

Importing this package (which every worker, beat and ``celery`` command does first, before any
task module) makes Arrow allocate from the C library's ``malloc`` in this process, unless the
operator set ``ARROW_DEFAULT_MEMORY_POOL``: see :data:`ARROW_POOL`.
"""

from __future__ import annotations

import os

#: Arrow's allocator in a worker: ``malloc``, the heap numpy uses. With Arrow's default pool
#: (mimalloc in the pyarrow wheels) a check's Arrow buffers (Parquet pages, takes, casts) and
#: its numpy arrays sit in two heaps, each keeping the pages it freed, and RSS rises by both
#: high-waters: on a quiet machine the 1M-row check's peak was 543-553 MB with mimalloc and
#: 480-493 MB with ``malloc``, for about 4% more CPU seconds (benchmarks/check_1m.py;
#: docs/performance.md, "A 1M-row check"). Arrow reads the variable once, when pyarrow is
#: first imported, so it is set here, before anything imports pyarrow; ``pa.set_memory_pool``
#: later would not do, since Arrow's C++ readers keep allocating from the pool chosen at import.
ARROW_POOL = ("ARROW_DEFAULT_MEMORY_POOL", "system")
os.environ.setdefault(*ARROW_POOL)
