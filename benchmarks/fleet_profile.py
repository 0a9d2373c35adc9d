"""CPU of one small check, in-process, with a cProfile of where it goes (no broker).

Runs the six stages of ``--checks`` small models one after another in this process, as a worker
would (``tests/support/stages.run_chain`` minus the broker), after one warm-up check, and prints
the process CPU seconds per check, the database's CPU per check (PostgreSQL: the CPU of the
backends serving its database, from /proc), statements and commits, the cyclic GC's CPU, and the
top functions by cumulative time. After the warm-up it freezes the imported heap as a worker does
after its first task (``tasks/heap.py``; ``--no-freeze`` to compare); ``--warm`` measures each
model's second check (spec and reference profile cached) instead of its first. ``--background N``
first registers N more models and opens their scheduled runs (pending, as a dispatch of a fleet
of N leaves them), so a check's cost on a database the size of a large fleet can be told from
the broker's part in it.

    .venv/bin/python benchmarks/fleet_profile.py --db sqlite --checks 50
    .venv/bin/python benchmarks/fleet_profile.py --db postgresql --pg-admin postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/fleet_profile.py --db postgresql --pg-admin own --background 10000
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fleet_models import register_small_models  # noqa: E402
from benchmarks.fleet_support import backend_cpu, cpu_since  # noqa: E402


def make_database(kind: str, pg_admin: str | None, folder: Path) -> tuple[str, callable]:
    from monitor.db.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{folder / 'state.db'}"
        upgrade(url)
        return url, lambda: None
    import psycopg

    name = f"mw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    upgrade(url)

    def drop() -> None:
        from monitor.db.engine import dispose_all

        dispose_all()
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return url, drop


class RoundTrips:
    """Statements and commits sent to the database (SQLAlchemy engine events), a figure that load
    on the machine does not blur."""

    def __init__(self, url: str):
        from sqlalchemy import event

        from monitor.db.engine import get_engine

        self.statements = self.commits = 0
        engine = get_engine(url)
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *args) -> None:
        self.statements += 1

    def _commit(self, *args) -> None:
        self.commits += 1


class GcPasses:
    """CPU spent in the cyclic garbage collector's passes, per generation (``gc.callbacks``)."""

    def __init__(self):
        import gc

        self.seconds, self.passes, self._started = [0.0, 0.0, 0.0], [0, 0, 0], 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds[info["generation"]] += time.process_time() - self._started
            self.passes[info["generation"]] += 1


def run_checks(url: str, names: list[str]) -> None:
    from monitor.check import stages
    from monitor.check.runs import open_check
    from monitor.config import Settings
    from monitor.db.engine import session_scope

    settings = Settings(database_url=url)
    for name in names:
        with session_scope(url) as session:
            run_id = open_check(session, name, trigger="manual", rerun=True).run_id
        for stage, body in stages.STAGES.items():
            stages.run_stage(settings, run_id, stage, body)


class Plans:
    """The statements of one check, each re-run under ``EXPLAIN (ANALYZE, BUFFERS)`` in a
    transaction that is rolled back (PostgreSQL): which of them read more rows than they return."""

    def __init__(self, url: str):
        from sqlalchemy import event

        from monitor.db.engine import get_engine

        self.url, self.statements = url, []
        self.engine = get_engine(url)
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            self.statements.append((statement, parameters))

    def stop(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._statement)

    def print(self, threshold_rows: int = 200) -> None:
        """Each plan that filters out more than ``threshold_rows`` rows (a scan that reads what it
        throws away: the cost that grows with the table, not with the check)."""
        import re

        import psycopg

        print(f"plans of one check's {len(self.statements)} statements that filter out more than "
              f"{threshold_rows} rows:")
        dsn = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
        shown = 0
        with psycopg.connect(dsn) as conn:
            for statement, parameters in self.statements:
                try:
                    plan = [row[0] for row in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
                except psycopg.Error as exc:
                    print(f"  (not explained: {type(exc).__name__}: {exc})")
                    continue
                finally:
                    conn.rollback()
                removed = sum(int(n) for n in re.findall(r"Rows Removed by (?:Join )?Filter: (\d+)", "\n".join(plan)))
                if removed > threshold_rows:
                    shown += 1
                    print("  " + " ".join(statement.split())[:300])
                    print("    " + "\n    ".join(plan))
        print(f"  ({shown} of {len(self.statements)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of the PostgreSQL server to make the database on, or 'own': start a "
                             "cluster of the benchmark's own (as fleet.py does)")
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--top", type=int, default=30, help="functions to list; 0 = no profiler (plain CPU-s)")
    parser.add_argument("--no-multivariate", action="store_true",
                        help="switch off the joint-drift classifier (checkcpu's cadence) to see the rest")
    parser.add_argument("--warm", action="store_true",
                        help="measure each model's second check (its spec and reference profile already cached "
                             "in this process, its alerts open), not its first")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the imported heap to the cyclic collector (a worker freezes it after "
                             "a task that imported modules: tasks/heap.py)")
    parser.add_argument("--explain", action="store_true",
                        help="after the measured checks, EXPLAIN ANALYZE one more check's statements (PostgreSQL) "
                             "and print the plans that filter many rows")
    parser.add_argument("--background", type=int, default=0,
                        help="register this many more models and open their scheduled runs first")
    args = parser.parse_args()
    postgres = None
    if args.db == "postgresql" and args.pg_admin == "own":
        from benchmarks.fleet_support import Postgres

        postgres = Postgres.start()
        args.pg_admin = postgres.admin_url
    folder = Path(tempfile.mkdtemp(prefix="mw-fleet-profile-"))
    os.environ.setdefault("MODELWATCH_DATA_DIR", str(folder))
    url, drop = make_database(args.db, args.pg_admin, folder)
    try:
        names = register_small_models(url, args.checks + 1 + args.background, multivariate=not args.no_multivariate)
        if args.background:
            from monitor.check.runs import open_due_runs
            from monitor.db.engine import session_scope

            with session_scope(url) as session:
                opened = open_due_runs(session)
            print(f"background: {args.background} more models, {len(opened)} scheduled runs opened (pending)")
        names = names[:args.checks + 1]
        run_checks(url, names[:1] if not args.warm else names)  # warm-up: imports, engine, caches
        if not args.no_freeze:
            from tasks.heap import freeze_imports

            freeze_imports()  # what a worker does after that first task (task_postrun)
        trips, collector = RoundTrips(url), GcPasses()
        profiler = cProfile.Profile()
        cpu, db_cpu, wall = time.process_time(), backend_cpu(url), time.perf_counter()
        if args.top:
            profiler.enable()
        run_checks(url, names[1:])
        profiler.disable()
        cpu, db_cpu = time.process_time() - cpu, cpu_since(backend_cpu(url), db_cpu)
        wall = time.perf_counter() - wall
        n = args.checks
        print(f"{args.db}: {n} small checks in-process, load average {os.getloadavg()[0]:.2f}")
        print(f"  process CPU-s per check {cpu / n:.4f}, database CPU-s per check "
              f"{db_cpu / n:.4f} (PostgreSQL backends; 0 on SQLite), wall per check {wall / n:.4f} s")
        print(f"  statements per check {trips.statements / n:.1f}, commits per check {trips.commits / n:.1f}")
        print(f"  cyclic GC per check {sum(collector.seconds) / n * 1000:.2f} ms CPU (passes of generation 0/1/2: "
              + "/".join(str(p) for p in collector.passes) + f" in {n} checks)")
        if args.top:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
        if args.explain and args.db == "postgresql":
            plans = Plans(url)
            run_checks(url, names[1:2])
            plans.stop()
            plans.print()
    finally:
        drop()
        if postgres is not None:
            postgres.stop()


if __name__ == "__main__":
    main()
