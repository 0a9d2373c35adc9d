"""The one door from the domain to the task queue.

``monitor`` does not import Celery at module level; publishing a check is the only thing the
domain asks of the queue, and this function imports the task lazily to do it.
"""

from __future__ import annotations


def enqueue_check(model: str, *, trigger: str = "manual", version: str | None = None,
                  countdown: float = 0, rerun: bool = False) -> str:
    """Publish ``tasks.check.run_check``; returns the Celery task id."""
    from tasks.check import run_check

    kwargs = {"trigger": trigger, "version": version, "rerun": rerun}
    return run_check.apply_async(args=[model], kwargs=kwargs, countdown=countdown or None).id
