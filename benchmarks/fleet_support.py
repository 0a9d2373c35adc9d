"""What benchmarks/fleet.py measures with: its own redis-server, CPU of a process tree and of the
PostgreSQL backends serving one database (from /proc), and the finished runs in the database."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(probe: Callable[[], tuple], timeout: float, interval: float = 0.2) -> tuple:
    """Call ``probe`` until its first element is truthy; its last answer after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        state = probe()
        if state[0] or time.monotonic() > deadline:
            return state
        time.sleep(interval)


@dataclass
class Redis:
    url: str
    process: subprocess.Popen
    folder: Path

    @classmethod
    def start(cls, port: int, folder: Path) -> "Redis":
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (make services installs it)")
        folder.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--dir", str(folder)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        redis = cls(f"redis://127.0.0.1:{port}/0", process, folder)
        wait_until(lambda: (redis._ping(),), timeout=15)
        return redis

    @property
    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def _ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:
            return False

    def flush(self) -> None:
        self.client.flushdb()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its live children."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
    except psutil.NoSuchProcess:
        pass
    return total


#: the ``application_name`` of the benchmark's own polling connection (:func:`count_finished`)
POLLER = "modelwatch-fleet-poller"


def backend_cpu(db_url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to ``db_url``'s database ({} on SQLite:
    its work is done inside the worker processes and counted there), but the benchmark's own
    poller: its count of finished runs scans ``check_runs`` twice a second, 7.8 ms of backend CPU
    a poll at 10,000 runs against 0.9 at 1,000 (loaded machine), which is not the checks' cost."""
    if not db_url.startswith("postgresql"):
        return {}
    import psycopg

    tick = os.sysconf("SC_CLK_TCK")
    with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name IS DISTINCT FROM %s", [POLLER])]
    cpu = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                values = stat.read().rsplit(")", 1)[1].split()
            cpu[pid] = (int(values[11]) + int(values[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return cpu


def cpu_since(now: dict[int, float], before: dict[int, float]) -> float:
    """CPU the backends used since ``before`` (a backend that appeared since counts in full)."""
    return sum(value - before.get(pid, 0.0) for pid, value in now.items())


def _epoch(value: dt.datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def count_finished(db_url: str) -> tuple[int, int, float | None, float | None]:
    """(finished runs, failed runs, first and last finish time as epoch seconds)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from monitor.db.schema import CheckRun

    ended = CheckRun.status.in_(("succeeded", "failed"))
    with Session(_poller(db_url)) as session:
        done, first, last = session.execute(
            select(func.count(), func.min(CheckRun.finished_at), func.max(CheckRun.finished_at)).where(ended)).one()
        failed = session.scalar(select(func.count()).where(CheckRun.status == "failed"))
    return done, failed, _epoch(first), _epoch(last)


def window_rows(db_url: str) -> tuple[int, int] | None:
    """(fewest, most) rows in the frozen windows of the finished runs, None before any finished:
    a check of an empty window skips every rule's work and costs far less than a full one, so a
    figure per check means little without it."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from monitor.db.schema import CheckRun

    with Session(_poller(db_url)) as session:
        rows = [(w or {}).get("rows") or 0 for w in session.scalars(
            select(CheckRun.watermark).where(CheckRun.status.in_(("succeeded", "failed"))))]
    return (min(rows), max(rows)) if rows else None


_pollers: dict = {}


def _poller(db_url: str):
    """The engine the benchmark polls ``db_url`` with: on PostgreSQL its connections carry
    :data:`POLLER` as their ``application_name``, so :func:`backend_cpu` leaves them out."""
    if db_url not in _pollers:
        from sqlalchemy import create_engine

        options = {"connect_args": {"application_name": POLLER}} if db_url.startswith("postgresql") else {}
        _pollers[db_url] = create_engine(db_url, pool_size=1, **options) if options else create_engine(db_url)
    return _pollers[db_url]


@dataclass
class Postgres:
    """A PostgreSQL cluster of the benchmark's own (initdb on a free port, fsync off): no other
    process on the machine can drop its databases, and only its backends are measured."""
    admin_url: str
    datadir: Path
    pg_ctl: str

    @classmethod
    def start(cls) -> "Postgres":
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        initdb = shutil.which("initdb") or (str(binaries[0] / "initdb") if binaries else None)
        pg_ctl = shutil.which("pg_ctl") or (str(binaries[0] / "pg_ctl") if binaries else None)
        if not initdb or not pg_ctl:
            raise SystemExit("no initdb/pg_ctl: pass --pg-admin URL of a server to use")
        folder = Path(tempfile.mkdtemp(prefix="mw-fleet-pg-"))  # its own: postgres must own the path
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        port = free_port()
        subprocess.run(_as_postgres([initdb, "-D", str(folder), "-A", "trust", "-U", "postgres"]), check=True,
                       stdout=subprocess.DEVNULL)
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(_as_postgres([pg_ctl, "-D", str(folder), "-o", options, "-w", "-l", str(folder / "log"),
                                     "start"]), check=True, stdout=subprocess.DEVNULL)
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder, pg_ctl)

    def stop(self) -> None:
        subprocess.run(_as_postgres([self.pg_ctl, "-D", str(self.datadir), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(self.datadir, ignore_errors=True)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command
