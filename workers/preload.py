"""What a worker's main process imports before it forks its pool: what a check computes with.

Why: scipy.stats costs about 0.5 CPU-s to import, and nearly every pool child needs it (an AUC, a
drift test, the streaming tick's detectors). The CLI, beat and the API server must not pay for it,
so the modules that use it import it lazily (tests/unit/test_import_cost.py); but imported lazily
in a worker, each prefork child would import it again on its first such task, and so would every
child that replaces one (``worker_max_tasks_per_child``). Imported here, on ``worker_init``,
before the pool starts, the children inherit it: one import per worker, its pages shared.

Measured over the whole test suite (tests/support/cpu_profile.py, docs/performance.md): with
scipy.stats imported lazily everywhere, the workers' main processes used 26 CPU-s less and their
pool children 54 CPU-s more.

The same holds for the rest of what a check imports lazily: the rule, alert channel and registry
adapter families (``monitor.plugins`` imports a family's modules on first lookup), the joint-drift
classifier's scikit-learn (every child of a fleet runs it within its first few checks: one check
in six per model), CBPE, the quality charts; and for SQLAlchemy's mapper configuration, done on
a process's first ORM query. A pool child paid 0.2-0.3 CPU-s for them on its first check and
0.15 more on its first joint-drift check (benchmarks/fleet.py's burst of 200 on 2 children: about
2 ms per check); imported here, once per worker. What each child still does on its first check
is compile its engine's statements (SQLAlchemy's cache is per engine, and an engine never crosses
a fork: ``monitor.db.engine``).
"""

from __future__ import annotations

import importlib

#: Imported by a worker's main process before it forks (``workers.signals``, ``worker_init``).
MODULES = ("scipy.stats", "sklearn.metrics", "sklearn.isotonic", "monitor.drift.multivariate",
           "monitor.drift.variance", "monitor.drift.npz", "monitor.estimation.cbpe", "monitor.quality",
           "monitor.quality_charts", "monitor.stream.tick", "monitor.db.schema")


def preload() -> list[str]:
    """Import :data:`MODULES` and the plugin families a check looks up, and configure the ORM's
    mappers; returns the modules' names."""
    from sqlalchemy.orm import configure_mappers

    from monitor.plugins import ADAPTERS, CHANNELS, RULES

    names = [importlib.import_module(name).__name__ for name in MODULES]
    for family in (RULES, CHANNELS, ADAPTERS):
        family.load()
    configure_mappers()
    return names
