"""A worker freezes its imported heap after a task that imported modules (``tasks/heap.py``), so
the cyclic collector's full passes stop walking pandas, SQLAlchemy and the rest on every check."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from celery.signals import task_postrun

from tasks import heap

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    heap._modules_at_freeze = 0
    yield
    gc.unfreeze()
    heap._modules_at_freeze = 0


def test_first_call_freezes_the_heap_and_a_second_does_nothing(unfrozen):
    assert gc.get_freeze_count() == 0
    assert heap.freeze_imports() is True
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the test process's modules and their objects
    # Objects made after the freeze are young; a second freeze would move them into the
    # permanent generation and raise the count past ``frozen``. Reference counting may still
    # free a frozen object meanwhile (another thread's), so the count can only stay or fall.
    young = [[i] for i in range(1_000)]
    assert heap.freeze_imports() is False
    assert gc.get_freeze_count() <= frozen
    del young


def test_a_newly_imported_module_freezes_again(unfrozen):
    heap.freeze_imports()
    name = "modelwatch_test_heap_freeze_module"
    sys.modules[name] = types.ModuleType(name)
    try:
        assert heap.freeze_imports() is True
        assert heap.freeze_imports() is False
    finally:
        del sys.modules[name]


def test_garbage_cycles_are_collected_before_the_freeze(unfrozen):
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    heap.freeze_imports()
    gc.unfreeze()  # the frozen objects are tracked again: the cycle is not among them
    assert not [o for o in gc.get_objects() if isinstance(o, Node)]


def test_the_worker_task_modules_connect_the_freeze_and_a_finished_task_runs_it(unfrozen):
    # a fresh interpreter, so this test's own ``from tasks import heap`` does not count
    code = ("import sys, tasks.check; from celery.signals import task_postrun; "
            "assert 'tasks.heap' in sys.modules, 'tasks.heap not imported by the task modules'; "
            "assert sys.modules['tasks.heap']._freeze_after_task in [r() for _, r in task_postrun.receivers]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    task_postrun.send(sender=None, task_id="t", task=None, args=(), kwargs={}, retval=None, state="SUCCESS")
    assert gc.get_freeze_count() > 0
