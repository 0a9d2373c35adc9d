"""Keep the cyclic garbage collector off a worker's imported modules.

A check allocates tens of thousands of short-lived objects (a decoded reference profile, ORM
rows, pandas frames), so CPython's cyclic collector runs many young-generation passes and, every
so often, a full one. A full pass walks every tracked object of the process, and after a check's
first stage a worker holds ~230,000 of them that never die (this benchmark): pandas, scipy, pyarrow,
SQLAlchemy and their caches, imported lazily (``workers.app`` imports none of them; a worker's
main process imports most on ``worker_init``, ``workers/preload.py``, the rest come with a task).
Walking those cost 6.5-7.8 ms of CPU per small check on average (a pass of ~160 ms every ~30
checks, charged to whatever allocated then); frozen, the collector's CPU is 0.8-1.4 ms per check
(``benchmarks/fleet_profile.py`` prints it; ``--no-freeze`` shows the other figure).

:func:`freeze_imports` collects garbage once and then moves every surviving object into the
collector's permanent generation (:func:`gc.freeze`), which later passes skip. It runs after a
task whenever that task imported new modules (the first check's stages, a recovery action's
scikit-learn), so it runs a handful of times per worker process, not per task. Frozen objects
are still freed by reference counting; only a reference cycle among them would stay, and the
``gc.collect()`` just before the freeze leaves none of the garbage that existed then.

A worker's main process also freezes its heap once it has imported what its pool children
inherit (``workers.signals``, on ``worker_init``, before the pool forks), as the documentation of
:func:`gc.freeze` advises for a pre-forking server: each child's first freeze then collects only
what the child itself allocated, instead of walking the ~200,000 objects it inherited (a child's
freezes fell from 0.11-0.13 to 0.015 CPU-s; docs/performance.md, "Where a check's worker time
goes"), and the children's collectors no longer write to the shared pages of those objects
(each child's unique memory after 100 small checks: 179 -> 137 MB).
The count of modules at that freeze is inherited too, so a child freezes again only after it
imported more.
"""

from __future__ import annotations

import gc
import sys
import threading

from celery.signals import task_postrun

_lock = threading.Lock()
#: how many modules were loaded at the last freeze (0: never frozen in this process)
_modules_at_freeze = 0


def freeze_imports() -> bool:
    """Freeze the heap if modules were imported since the last freeze; returns whether it did."""
    global _modules_at_freeze
    with _lock:
        loaded = len(sys.modules)
        if loaded <= _modules_at_freeze:
            return False
        gc.collect()
        gc.freeze()
        _modules_at_freeze = loaded
        return True


@task_postrun.connect
def _freeze_after_task(**_: object) -> None:
    freeze_imports()
