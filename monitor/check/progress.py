"""Where a check run goes on, read from its per-stage entries (``check_runs.stages``).

Two paths pick up a run that stopped: a message Redis hands out again after its worker died
(``tasks.check.run_stages``), and the sweeper's re-drive of a run whose message was lost
(``monitor.check.redrive``, an embedded broker or a Redis restarted empty). Both must resume at
the same stage, so both ask :func:`resume_at`.

A stage in :data:`HAND_OFF_STAGES` hands work on once it committed: its task publishes what the
stage asked for (alert: notifications; schedule_recovery: recovery actions; report: the Graphite
export; ``tasks.check.HAND_OFFS``). The worker may die between that commit and those publishes,
and the run's row cannot tell whether they went out. So while the next stage was never claimed,
the run resumes at the hand-off stage itself: the stage returns its stored output and its task
publishes again; every published thing claims itself downstream (a notification's ``sending``
state, a recovery action's claim), so a second publish changes nothing. Once the next stage was
claimed, the task had finished the hand-offs, and the run resumes at the first unfinished stage.
"""

from __future__ import annotations

from typing import Any

from monitor.store.runs import STAGES

#: The stages whose task publishes work once the stage committed (the publishing itself is
#: ``tasks.check.HAND_OFFS``, whose keys are exactly these).
HAND_OFF_STAGES = frozenset({"alert", "schedule_recovery", "report"})


def first_unfinished(entries: dict[str, Any] | None) -> str:
    """The first stage that has not succeeded (``report`` if all before it did): the one that
    may be running now, whatever a resume goes back to.

    >>> first_unfinished({})
    'collect'
    >>> first_unfinished({"collect": {"state": "succeeded"}, "evaluate": {"state": "retrying"}})
    'evaluate'
    """
    entries = entries or {}
    for name in STAGES:
        if (entries.get(name) or {}).get("state") != "succeeded":
            return name
    return STAGES[-1]


def resume_at(entries: dict[str, Any] | None) -> str:
    """Where a run goes on: its first stage that has not succeeded, or the stage before it when
    that one hands work on and the next was never claimed (a re-drive mark is not a claim).

    >>> resume_at({})
    'collect'
    >>> done = {"state": "succeeded"}
    >>> resume_at({"collect": done, "evaluate": done, "detect": done})
    'alert'
    >>> resume_at({"collect": done, "evaluate": done, "detect": done, "alert": done})
    'alert'
    >>> resume_at({"collect": done, "evaluate": done, "detect": done, "alert": done,
    ...            "schedule_recovery": {"state": "running", "started_at": "2026-12-03T21:00:00+00:00"}})
    'schedule_recovery'
    """
    entries = entries or {}
    name = first_unfinished(entries)
    entry = entries.get(name) or {}
    if entry.get("state") == "succeeded":  # every stage did (an ended run)
        return name
    index = STAGES.index(name)
    before = STAGES[index - 1] if index else None
    return before if before in HAND_OFF_STAGES and not entry.get("started_at") else name
