"""What a worker's main process imports before it forks its pool: scipy.stats.

Why: scipy.stats costs about 0.5 CPU-s to import, and nearly every pool child needs it (an AUC, a
drift test, the streaming tick's detectors). The CLI, beat and the API server must not pay for it,
so the modules that use it import it lazily (tests/unit/test_import_cost.py); but imported lazily
in a worker, each prefork child would import it again on its first such task, and so would every
child that replaces one (``worker_max_tasks_per_child``). Imported here, on ``worker_init``,
before the pool starts, the children inherit it: one import per worker, its pages shared.

Measured over the whole test suite (tests/support/cpu_profile.py, docs/performance.md): with
scipy.stats imported lazily everywhere, the workers' main processes used 26 CPU-s less and their
pool children 54 CPU-s more.
"""

from __future__ import annotations

import importlib

#: Imported by a worker's main process before it forks (``workers.signals``, ``worker_init``).
MODULES = ("scipy.stats",)


def preload() -> list[str]:
    """Import :data:`MODULES`; returns their names."""
    return [importlib.import_module(name).__name__ for name in MODULES]
