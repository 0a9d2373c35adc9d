"""CPU of one small check, in-process, with a cProfile of where it goes (no broker).

Runs the six stages of ``--checks`` small models one after another in this process, as a worker
would (``tests/support/stages.run_chain`` minus the broker), after one warm-up check, and prints
the process CPU seconds per check, the database server's CPU per check (PostgreSQL: the sum of
its backends' CPU from /proc) and the top functions by cumulative time.

    .venv/bin/python benchmarks/fleet_profile.py --db sqlite --checks 50
    .venv/bin/python benchmarks/fleet_profile.py --db postgresql --pg-admin postgresql://postgres@127.0.0.1:5432/postgres
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


def postgres_cpu_seconds() -> float:
    """CPU (user + system) of every postgres process on this machine, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)
            if "postgres" not in fields[0]:
                continue
            values = fields[1].split()
            total += int(values[11]) + int(values[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-multivariate", action="store_true",
                        help="switch off the joint-drift classifier (checkcpu's cadence) to see the rest")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mw-fleet-profile-"))
    os.environ.setdefault("MODELWATCH_DATA_DIR", str(folder))
    url, drop = make_database(args.db, args.pg_admin, folder)
    try:
        names = register_small_models(url, args.checks + 1, multivariate=not args.no_multivariate)
        run_checks(url, names[:1])  # warm-up: imports, engine, caches
        profiler = cProfile.Profile()
        cpu, db_cpu, wall = time.process_time(), postgres_cpu_seconds(), time.perf_counter()
        profiler.enable()
        run_checks(url, names[1:])
        profiler.disable()
        cpu, db_cpu = time.process_time() - cpu, postgres_cpu_seconds() - db_cpu
        wall = time.perf_counter() - wall
        n = args.checks
        print(f"{args.db}: {n} small checks in-process, load average {os.getloadavg()[0]:.2f}")
        print(f"  process CPU-s per check {cpu / n:.4f}, database CPU-s per check "
              f"{db_cpu / n:.4f} (PostgreSQL backends; 0 on SQLite), wall per check {wall / n:.4f} s")
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    finally:
        drop()


if __name__ == "__main__":
    main()
