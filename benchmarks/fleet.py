"""Fleet benchmark: N small models due at once, one dispatch cycle, 2 worker processes, against a
raw Celery six-task no-op chain measured in the same run on the same broker.

    .venv/bin/python benchmarks/fleet.py                          # N = 100, 1,000, 10,000 + burst 200
    .venv/bin/python benchmarks/fleet.py --sizes 100,1000         # quicker
    .venv/bin/python benchmarks/fleet.py --sizes 1000 --fifo      # also the same fleet without priorities
    .venv/bin/python benchmarks/fleet.py --db sqlite --sizes 100  # the state in SQLite instead

It starts its own redis-server and its own PostgreSQL cluster (free ports; or makes throwaway
databases on ``--pg-admin URL``), one database per size, registers N small models in bulk
(``benchmarks/fleet_models.py``), starts one ``celery -A workers.app worker --concurrency 2``
(all queues, as ``modelwatch run`` does), sends ONE ``tasks.dispatch.dispatch_due`` and polls the
database until every run has finished. Printed per size: checks/s, CPU-s per check (the worker's
processes + the PostgreSQL backends of that database, from /proc), time to the first and the last
finished check, checks finished after 10/30/60 s, and the no-op floor's chains/s with the ratio.
``burst`` is the issue's other figure: 200 small checks enqueued at once (``tasks.publish.launch``
from this process, no dispatcher). ``--fifo`` repeats the largest size with every run at one
priority (what Redis did before the stage priorities), to show the ordering's effect (since a
run's stages run back to back in one task, only forced runs and re-drives are ordered).
``MODELWATCH_TASK_EVENTS=false`` in the environment turns task events off in the worker and the
publisher alike (docs/operations.md, "Task events and Flower").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fleet_models import ROWS, register_small_models  # noqa: E402
from benchmarks.fleet_profile import make_database  # noqa: E402
from benchmarks.fleet_support import (Postgres, Redis, backend_cpu, count_finished, cpu_since,  # noqa: E402
                                      free_port, tree_cpu, wait_until, window_rows)


@dataclass
class Fleet:
    size: int
    mode: str                      # dispatch | burst | fifo
    register_s: float = 0.0
    dispatch_s: float | None = None
    first_s: float | None = None
    last_s: float | None = None
    finished: int = 0
    failed: int = 0
    checks_per_s: float | None = None
    worker_cpu_per_check: float | None = None
    db_cpu_per_check: float | None = None
    at: dict[str, int] = field(default_factory=dict)
    floor_chains_per_s: float | None = None
    floor_cpu_per_chain: float | None = None
    ratio: float | None = None
    load: float = 0.0
    cut_s: float | None = None     # --stop-at ended the wait this many seconds after the publish
    window_rows: tuple[int, int] | None = None  # fewest and most rows in a finished check's window
    floor_size: int | None = None  # chains of the floor (--floor-max caps it)


#: settings of this process's environment the worker gets too (the others are the benchmark's own)
PASSED_ON = ("MODELWATCH_TASK_EVENTS",)


def _env(redis_url: str, db_url: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_") or k in PASSED_ON}
    env.update({"MODELWATCH_BROKER_URL": redis_url, "MODELWATCH_DATABASE_URL": db_url,
                "MODELWATCH_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)})
    return env


def run_fleet(size: int, mode: str, args, redis: Redis, folder: Path) -> Fleet:
    from frontdoors import runner

    result = Fleet(size, mode)
    db_url, drop = make_database(args.db, args.pg_admin, folder / f"{mode}-{size}")
    try:
        started = time.perf_counter()
        names = register_small_models(db_url, size)
        result.register_s = round(time.perf_counter() - started, 1)
        redis.flush()
        log = folder / f"worker-{mode}-{size}.log"
        worker = runner.start_worker(_env(redis.url, db_url, folder), log=log, concurrency=2, loglevel="INFO")
        try:
            runner.wait_ready(worker, "ready.", timeout=120)
            _measure(result, names, db_url, worker, log, args)
        finally:
            runner.Services([worker]).stop(timeout=10)
    finally:
        drop()
    return result


def _publish(mode: str, names: list[str], db_url: str) -> None:
    """What starts the fleet: one dispatch task, or runs published from here."""
    from monitor.check.runs import open_check
    from monitor.db.engine import session_scope
    from tasks.publish import RUN_STAGES, launch_many
    from workers.app import app

    if mode == "dispatch":
        app.signature("tasks.dispatch.dispatch_due").apply_async()
        return
    with session_scope(db_url) as session:
        runs = [open_check(session, name, trigger="schedule").run_id for name in names]
    if mode == "burst":
        launch_many(list(zip(runs, names)))
        return
    for run_id, name in zip(runs, names):  # fifo: every run at priority 0, overriding the route's priority
        app.signature(RUN_STAGES, args=[{"run_id": run_id, "model": name, "from": "collect"}],
                      priority=0).apply_async()


def _measure(result: Fleet, names: list[str], db_url: str, worker, log: Path, args) -> None:
    size = result.size
    cpu0, db0 = tree_cpu(worker.process.pid), backend_cpu(db_url)
    t0 = time.time()
    _publish(result.mode, names, db_url)
    marks = {10: None, 30: None, 60: None}
    minutes = [0]

    def progress():
        done, failed, first, last = count_finished(db_url)
        elapsed = time.time() - t0
        if elapsed >= 60 * (minutes[0] + 1):  # a line a minute: a long run cut short still shows its course
            minutes[0] = int(elapsed // 60)
            print(f"  [{time.strftime('%H:%M:%S')}] {elapsed:.0f} s: {done} of {size} finished "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
        for mark in marks:
            if marks[mark] is None and elapsed >= mark:
                marks[mark] = done
        return (done >= size, done, failed, first, last)

    timeout = args.timeout_base + size * args.timeout_per_check
    if args.stop_at is not None:
        timeout = min(timeout, max(0.0, args.stop_at - time.time()))
    state = wait_until(progress, timeout=timeout, interval=0.5)
    _, done, failed, first, last = state
    if done < size:  # cut by the timeout or --stop-at: the figures are those of the part measured
        result.cut_s = round(time.time() - t0, 1)
    cpu, db = tree_cpu(worker.process.pid) - cpu0, cpu_since(backend_cpu(db_url), db0)
    for mark in marks:
        if marks[mark] is None and last is not None and last - t0 < mark:
            marks[mark] = done
    result.finished, result.failed = done, failed
    result.first_s = round(first - t0, 2) if first else None
    result.last_s = round(last - t0, 2) if last else None
    result.checks_per_s = round(done / (last - t0), 2) if last else None
    result.worker_cpu_per_check = round(cpu / max(done, 1), 4)
    result.db_cpu_per_check = round(db / max(done, 1), 4)
    result.at = {f"{m}s": v for m, v in marks.items() if v is not None}
    found = re.findall(r"dispatch_due\[[^\]]+\] succeeded in ([\d.]+)s", log.read_text(errors="replace"))
    result.dispatch_s = round(float(found[0]), 2) if found else None
    result.load = round(os.getloadavg()[0], 2)
    result.window_rows = window_rows(db_url)


def run_floor(size: int, redis: Redis, folder: Path) -> tuple[float, float]:
    """The no-op chain floor: ``size`` chains at once on one 2-process worker; (chains/s, CPU-s/chain)."""
    env = {**os.environ, "FLEET_NOOP_BROKER": redis.url, "PYTHONPATH": str(ROOT)}
    redis.flush()
    log = folder / f"noop-{size}.log"
    command = [sys.executable, "-m", "celery", "-A", "benchmarks.fleet_noop", "worker", "--concurrency", "2",
               "-Q", "noop", "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--hostname",
               "noop@%h"]
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        os.environ["FLEET_NOOP_BROKER"] = redis.url
        from benchmarks import fleet_noop

        fleet_noop.app.conf.broker_url = redis.url
        wait_until(lambda: (redis.client.llen("noop") == 0 and _noop_ready(fleet_noop), None), timeout=60)
        cpu0, t0 = tree_cpu(process.pid), time.time()
        fleet_noop.launch(size)
        wait_until(lambda: (int(redis.client.get(fleet_noop.DONE) or 0) >= size, None),
                   timeout=60 + size * 0.2, interval=0.2)
        last = float(redis.client.get(fleet_noop.LAST))
        return round(size / (last - t0), 1), round((tree_cpu(process.pid) - cpu0) / size, 5)
    finally:
        process.terminate()
        process.wait(20)


def _noop_ready(fleet_noop) -> bool:
    """The no-op worker answers a ping (it is consuming)."""
    try:
        return bool(fleet_noop.app.control.ping(timeout=1.0))
    except Exception:
        return False


def _print(results: list[Fleet], db: str) -> None:
    print(f"\nfleet benchmark ({db}; 2 worker processes; load average at the end of each row)")
    head = (f"{'mode':8} {'N':>6} {'register':>8} {'dispatch':>8} {'first':>7} {'last':>8} {'checks/s':>8} "
            f"{'CPU/chk':>8} {'(db)':>7} {'@10s':>6} {'@30s':>6} {'@60s':>6} {'floor/s':>8} {'ratio':>6} {'load':>5}")
    print(head)
    for r in results:
        cells = [r.mode, r.size, r.register_s, r.dispatch_s, r.first_s, r.last_s, r.checks_per_s,
                 (r.worker_cpu_per_check or 0) + (r.db_cpu_per_check or 0), r.db_cpu_per_check,
                 r.at.get("10s"), r.at.get("30s"), r.at.get("60s"), r.floor_chains_per_s, r.ratio, r.load]
        text = [("-" if c is None else (f"{c:.4f}" if isinstance(c, float) and i in (7, 8) else str(c)))
                for i, c in enumerate(cells)]
        print(f"{text[0]:8} " + " ".join(f"{t:>{w}}" for t, w in zip(text[1:], (6, 8, 8, 7, 8, 8, 8, 7, 6, 6, 6, 8, 6, 5))))
        if r.window_rows and r.window_rows != (ROWS, ROWS):
            print(f"         (the checks' windows held {r.window_rows[0]}-{r.window_rows[1]} rows, not {ROWS}: "
                  "not the small check this benchmark measures)")
        if r.failed:
            print(f"         ({r.failed} of {r.finished} runs failed: see the worker log)")
        if r.cut_s is not None:
            print(f"         (cut {r.cut_s} s after the publish: {r.finished} of {r.size} finished; checks/s over "
                  f"the part measured)")
        if r.floor_size != r.size:
            print(f"         (floor measured with {r.floor_size} chains)")


def _clock(value: str) -> float:
    """``HH:MM`` (UTC, today) as epoch seconds."""
    import datetime as dt

    hour, minute = (int(part) for part in value.split(":"))
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--burst", type=int, default=200, help="also N small checks enqueued at once (0: skip)")
    parser.add_argument("--fifo", action="store_true", help="repeat the largest size without stage priorities")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-admin", default="own",
                        help="admin URL of a PostgreSQL server to make databases on, or 'own' (default): "
                             "start a cluster of the benchmark's own")
    parser.add_argument("--timeout-base", type=float, default=120)
    parser.add_argument("--timeout-per-check", type=float, default=1.0)
    parser.add_argument("--stop-at", type=_clock, default=None,
                        help="UTC time HH:MM to stop waiting for the checks of a size and report the part that "
                             "finished (for a 10,000-model run that cannot finish in the time there is)")
    parser.add_argument("--floor-max", type=int, default=None, help="cap the floor's chains (default: N)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (worker logs)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    folder = Path(tempfile.mkdtemp(prefix="mw-fleet-"))
    redis = Redis.start(free_port(), folder / "redis")
    postgres = None
    os.environ.update({"MODELWATCH_BROKER_URL": redis.url, "MODELWATCH_DATA_DIR": str(folder)})
    plan = [("burst", args.burst)] if args.burst else []
    plan += [("dispatch", n) for n in sizes] + ([("fifo", max(sizes))] if args.fifo else [])
    results: list[Fleet] = []
    try:
        if args.db == "postgresql" and args.pg_admin == "own":
            postgres = Postgres.start()
            args.pg_admin = postgres.admin_url
        for mode, size in plan:
            print(f"[{time.strftime('%H:%M:%S')}] {mode} N={size} ...", flush=True)
            result = run_fleet(size, mode, args, redis, folder)
            result.floor_size = min(size, args.floor_max or size)
            result.floor_chains_per_s, result.floor_cpu_per_chain = run_floor(result.floor_size, redis, folder)
            if result.checks_per_s:
                result.ratio = round(result.floor_chains_per_s / result.checks_per_s, 1)
            results.append(result)
            _print(results[-1:], args.db)
        _print(results, args.db)
        if args.json:
            args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    finally:
        redis.stop()
        if postgres is not None:
            postgres.stop()
        if args.keep:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
