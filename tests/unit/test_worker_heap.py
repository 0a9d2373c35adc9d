"""A worker's main process freezes its heap before it forks its pool (workers.signals, tasks/heap.py),
so that no pool child's cyclic collector walks the objects it inherited."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_worker_init_freezes_the_heap_the_pool_children_inherit(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    env.update({"MODELWATCH_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)})
    script = """
import gc, json, sys
from workers.app import app
app.loader.import_default_modules()
before = gc.get_freeze_count()
from celery.signals import worker_init
worker_init.send(sender=None)
from tasks import heap
print(json.dumps({"before": before, "after": gc.get_freeze_count(), "modules": len(sys.modules),
                  "at_freeze": heap._modules_at_freeze}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    assert counts["after"] > 50_000, counts  # the app, Celery, SQLAlchemy, numpy and scipy.stats: ~200,000 objects
    assert counts["at_freeze"] == counts["modules"], counts  # a child freezes again only after new imports
