"""Celery worker nodes a fault drill kills with SIGKILL and starts again.

Each incarnation of a node is a real ``celery -A workers.app worker`` (prefork, concurrency 1,
its own ``-n`` hostname) with a few failpoints picked at random (``monitor/failpoints.py``): it
pauses a second or two inside or just after some stages, so a SIGKILL that lands while the node
holds a message lands *inside* the chain, with the message unacked. Which task a node holds is
read from its own log (``Task NAME[ID] received`` without a ``succeeded``/``retry``/``raised``).

Two kinds of SIGKILL: the whole node (main process and pool child: its unacked message comes back
after the visibility timeout, and the node is started again, which costs a full boot), and the
pool child alone (the process running the task, as the kernel's OOM killer would pick it: the
main process requeues the message at once and forks a new child).
"""

from __future__ import annotations

import os
import random
import re
import signal
from pathlib import Path

from frontdoors import runner

#: Places a node may pause (seconds): before a stage's work (``collect``), after it committed with
#: the message unacked (``alert.after``), between claiming and sending a notification, after a
#: recovery action ran.
PAUSES = ("collect=sleep(0.7)", "evaluate=sleep(1)", "evaluate.after=sleep(0.7)", "detect=sleep(0.7)",
          "alert=sleep(0.7)", "alert.after=sleep(1)", "schedule_recovery=sleep(0.7)",
          "schedule_recovery.after=sleep(1)", "report=sleep(0.7)", "deliver.claimed=sleep(1)",
          "deliver.after=sleep(1)", "recovery.after=sleep(1)")

_TASK = re.compile(r"Task (\S+)\[([0-9a-f-]{36})\] (received|succeeded|retry|raised|failed|rejected|ignored)")
#: What a kill counts as "inside the chain" (a beat's dispatch or sweep is not).
CHAIN_TASKS = ("tasks.check.", "tasks.alerts.deliver", "tasks.recovery.execute")


class Node:
    def __init__(self, name: str, env: dict[str, str], logs: Path, rng: random.Random):
        self.name, self.env, self.logs, self.rng = name, env, logs, rng
        self.incarnation = 0
        self.service: runner.Service | None = None
        self.pauses = ""
        self._log_from = 0  # a killed pool child's task is requeued: what it held before is not held

    @property
    def log(self) -> Path:
        return self.logs / f"worker-{self.name}-{self.incarnation}.log"

    def start(self) -> None:
        """A new incarnation with 2-3 pauses of its own (not waiting for it to be ready)."""
        self.incarnation += 1
        self._log_from = 0
        self.pauses = ";".join(self.rng.sample(PAUSES, self.rng.randint(2, 3)))
        self.service = runner.start_worker({**self.env, "MODELWATCH_FAILPOINTS": self.pauses}, log=self.log,
                                           concurrency=1, hostname=f"{self.name}@%h")

    def alive(self) -> bool:
        return self.service is not None and self.service.alive()

    def ready(self) -> bool:
        return self.alive() and self.log.exists() and "ready." in self.log.read_text(errors="replace")

    def holding(self) -> list[str]:
        """Names of the chain tasks this incarnation received and has not finished."""
        if not self.log.exists():
            return []
        open_tasks: dict[str, str] = {}
        for name, task_id, event in _TASK.findall(self.log.read_text(errors="replace")[self._log_from:]):
            if event == "received":
                open_tasks[task_id] = name
            else:
                open_tasks.pop(task_id, None)
        return [name for name in open_tasks.values() if name.startswith(CHAIN_TASKS)]

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool child, no goodbye."""
        try:
            os.killpg(self.service.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.service.process.wait(10)

    def kill_child(self) -> bool:
        """SIGKILL the pool process (concurrency 1: the one running the task); False if there is none."""
        import psutil

        try:
            children = psutil.Process(self.service.process.pid).children()
        except psutil.NoSuchProcess:
            return False
        if not children:
            return False
        self._log_from = len(self.log.read_text(errors="replace"))
        for child in children:
            child.send_signal(signal.SIGKILL)
        return True

    def stop(self) -> None:
        if self.alive():
            self.kill()

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in sorted(self.logs.glob(f"worker-{self.name}-*.log")))
