"""The fault schedule of the drill: SIGKILLs of worker nodes at random points of the chain,
Redis restarted empty, the database stopped mid-stage, and a node that died on its own restarted.

:class:`Drill` runs the schedule in the test's own thread (nothing here is concurrent with it
but the real processes) and records every fault with the runs that were open when it hit, so the
verdict can say how long recovery took (the last of those runs to finish, minus the fault time).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from monitor.db.schema import CheckRun
from tests.conftest import session
from tests.support.fault_nodes import Node
from tests.support.fault_services import OwnPostgres, OwnRedis


@dataclass
class Fault:
    kind: str  # kill, redis, database, beat
    at: float  # time.time()
    detail: str
    open_runs: tuple[str, ...] = ()
    down_for: float = 0.0


@dataclass
class Drill:
    nodes: list[Node]
    redis: OwnRedis
    postgres: OwnPostgres
    database_url: str
    rng: random.Random
    faults: list[Fault] = field(default_factory=list)
    died_on_their_own: list[str] = field(default_factory=list)

    def _open_runs(self) -> tuple[str, ...]:
        try:
            with session(self.database_url) as s:
                return tuple(s.scalars(select(CheckRun.id).where(CheckRun.status.in_(("pending", "running")))))
        except Exception:  # the database is what is down: the fault before this one's runs stand in
            return ()

    def supervise(self) -> None:
        """Start again any node that died without being killed by the drill (and say so)."""
        for node in self.nodes:
            if not node.alive():
                self.died_on_their_own.append(f"{node.name}-{node.incarnation}: exit {node.service.process.returncode}")
                node.start()

    def kill_one(self, whole_node: bool, patience: float = 3.0) -> None:
        """SIGKILL a node (restarted at once) or its pool child, preferring one that holds a chain task.

        Waits up to ``patience`` seconds for a node to hold something. A whole node is killed only
        while every node is ready (one node down at a time: a node's boot took 30 s at load 13, and
        two down left one node whose every dispatch of a window expired behind its backlog).
        """
        deadline = time.monotonic() + patience
        while True:
            self.supervise()
            ready = [n for n in self.nodes if n.ready()]
            busy = [(n, held) for n, held in ((n, n.holding()) for n in ready) if held]
            enough = len(ready) == len(self.nodes) if whole_node else bool(ready)
            if enough and (busy or time.monotonic() > deadline):
                break
            time.sleep(0.1)
        node, held = self.rng.choice(busy) if busy else (self.rng.choice(ready), [])
        open_runs = self._open_runs()
        where = ",".join(held) or "idle"
        if whole_node:
            node.kill()
        elif not node.kill_child():  # its child was being replaced: try again
            time.sleep(0.2)
            return self.kill_one(whole_node, patience)
        kind = "kill" if whole_node else "kill-child"
        self.faults.append(Fault(kind, time.time(), f"{node.name}-{node.incarnation} [{node.pauses}] in {where}",
                                 open_runs))
        if whole_node:
            node.start()

    def restart_redis(self) -> None:
        open_runs = self._open_runs()
        at = time.time()
        down = self.redis.restart_empty()
        self.faults.append(Fault("redis", at, "redis-server SIGKILLed, restarted empty", open_runs, down))

    def database_outage(self, down_for: float = 3.0) -> None:
        """Stop PostgreSQL while a node is inside a stage (waits up to 3 s for one), then start it."""
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not any(n.holding() for n in self.nodes if n.ready()):
            time.sleep(0.1)
        inside = ",".join(h for n in self.nodes if n.ready() for h in n.holding()) or "idle"
        open_runs = self._open_runs()
        at = time.time()
        down = self.postgres.outage(down_for)
        self.faults.append(Fault("database", at, f"pg_ctl stop -m immediate during {inside}", open_runs, down))

    def run(self, duration: float, kills: int, whole_nodes: int, redis_at: tuple[float, ...],
            database_at: tuple[float, ...]) -> None:
        """Inject ``kills`` SIGKILLs spread over ``duration`` seconds (``whole_nodes`` of them of a
        whole node, spread evenly among the rest), and the Redis and database faults at their
        offsets; returns once all are done."""
        started = time.monotonic()
        planned = sorted([(t, "redis") for t in redis_at] + [(t, "database") for t in database_at])
        kill_every = duration / kills
        whole = {round(i * kills / whole_nodes) for i in range(whole_nodes)} if whole_nodes else set()
        next_kill, done_kills = kill_every / 2, 0
        while done_kills < kills or planned:
            elapsed = time.monotonic() - started
            self.supervise()
            if planned and elapsed >= planned[0][0]:
                _, kind = planned.pop(0)
                if kind == "redis":
                    self.restart_redis()
                else:
                    self.database_outage()
            elif done_kills < kills and elapsed >= next_kill:
                self.kill_one(whole_node=done_kills in whole)
                done_kills += 1
                next_kill += kill_every
            else:
                time.sleep(0.1)

    def count(self, kind: str) -> int:
        return sum(f.kind == kind for f in self.faults)
