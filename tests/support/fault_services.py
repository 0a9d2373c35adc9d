"""The outside parts a fault drill breaks on purpose, each owned by the drill alone.

The session's redis-server and PostgreSQL (tests/conftest.py) are shared by other tests, so a
drill that kills Redis or stops the database cannot use them: these start their own.

- :class:`OwnRedis`: a redis-server with no persistence that ``restart_empty`` kills with SIGKILL
  and starts again on the same port, holding nothing (every queued and unacked message is gone).
- :class:`OwnPostgres`: a PostgreSQL cluster in a temporary folder (initdb + pg_ctl) that
  ``outage`` stops with ``-m immediate`` (connections cut, as a crash would) and starts again.
- :class:`CountingReceiver`: a webhook endpoint counting deliveries per ``Idempotency-Key``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from frontdoors.demo.receiver import WebhookReceiver
from tests.conftest import _as_postgres_user, _pg_bin, free_port, unavailable, wait_for


class OwnRedis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed (make services installs it)")
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mw-faults-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no"]
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.ping, 15, "the drill's redis-server to answer PING", interval=0.05)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def restart_empty(self, down_for: float = 0.5) -> float:
        """SIGKILL the server, delete anything it could reload, start it empty; returns seconds down."""
        started = time.monotonic()
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)
        for leftover in self.folder.iterdir():  # no dump.rdb / appendonly files: it must come back empty
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        time.sleep(down_for)
        self.start()
        return time.monotonic() - started

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


class OwnPostgres:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            unavailable("no initdb/pg_ctl to start the drill's own PostgreSQL (make services installs it)")
        self.folder = Path(tempfile.mkdtemp(prefix="mw-faults-pg-"))
        if os.geteuid() == 0:  # initdb refuses to run as root: the cluster belongs to postgres
            shutil.chown(self.folder, "postgres", "postgres")
        self.port = free_port()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/modelwatch"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres_user([self.pg_ctl, "-D", str(self.folder), *args]), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._ctl("-o", options, "-w", "-l", str(self.folder / "log"), "start")

    def create(self) -> str:
        """initdb, start, create the ``modelwatch`` database and migrate it; returns its URL."""
        import psycopg

        from monitor.db.migrate import upgrade

        subprocess.run(_as_postgres_user([self.initdb, "-D", str(self.folder), "-A", "trust", "-U", "postgres"]),
                       check=True, stdout=subprocess.DEVNULL)
        self.start()
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute('CREATE DATABASE "modelwatch"')
        upgrade(self.url)
        return self.url

    def outage(self, down_for: float) -> float:
        """Stop with ``-m immediate`` (no goodbye to clients), wait, start; returns seconds unreachable."""
        started = time.monotonic()
        self._ctl("-m", "immediate", "stop")
        time.sleep(down_for)
        self.start()
        return time.monotonic() - started

    def close(self) -> None:
        from monitor.db.engine import dispose_all

        dispose_all()
        subprocess.run(_as_postgres_user([self.pg_ctl, "-D", str(self.folder), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.folder, ignore_errors=True)


class CountingReceiver(WebhookReceiver):
    """``with CountingReceiver() as hook:`` ... ``hook.keys`` counts 2xx deliveries per Idempotency-Key
    (the demo's receiver, which records every delivery's headers)."""

    @property
    def keys(self) -> Counter[str]:
        return Counter(next((value for name, value in headers.items() if name.lower() == "idempotency-key"), "")
                       for headers in self.headers)
