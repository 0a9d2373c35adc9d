"""A Redis primary, one replica and three sentinels on free loopback ports, for failover drills.

The sentinels are Debian's ``redis-sentinel`` when installed (scripts/ensure-services.sh
installs it), else ``redis-server --sentinel``: the same binary in sentinel mode. They notice a
dead primary after ``down-after-milliseconds`` (1 s here, 30 s in Debian's default config) and
promote the replica; ``failover-timeout`` is short so a drill ends in seconds.

``with SentinelCluster(tmp_path) as cluster: ... cluster.url ... cluster.kill_primary() ...``
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MASTER = "mymaster"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception:  # noqa: BLE001 - a server that is still starting refuses connections
            result = None
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class SentinelCluster:
    """One primary, one replica, three sentinels (quorum 2), all on 127.0.0.1."""

    def __init__(self, folder: Path, down_after_ms: int = 1000, failover_timeout_ms: int = 3000):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.down_after_ms, self.failover_timeout_ms = down_after_ms, failover_timeout_ms
        self.primary_port, self.replica_port = _free_port(), _free_port()
        self.sentinel_ports = [_free_port() for _ in range(3)]
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        """kombu's form: every sentinel, separated by ``;``."""
        return ";".join(f"sentinel://127.0.0.1:{port}/0" for port in self.sentinel_ports)

    @staticmethod
    def sentinel_command(config: Path) -> list[str]:
        binary = shutil.which("redis-sentinel")
        if binary:
            return [binary, str(config)]
        return [shutil.which("redis-server") or "redis-server", str(config), "--sentinel"]

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)

    def _redis(self, name: str, port: int, *extra: str) -> None:
        workdir = self.folder / name
        workdir.mkdir(exist_ok=True)
        self._start(name, [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", str(workdir), *extra])

    def start(self) -> "SentinelCluster":
        """Start every process and return at once (a test prepares its data meanwhile)."""
        self._redis("primary", self.primary_port)
        self._redis("replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port))
        for index, port in enumerate(self.sentinel_ports):
            config = self.folder / f"sentinel-{index}.conf"  # sentinels rewrite their file: one each
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {self.folder}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
                f"sentinel failover-timeout {MASTER} {self.failover_timeout_ms}\n"
                f"sentinel parallel-syncs {MASTER} 1\n")
            self._start(f"sentinel-{index}", self.sentinel_command(config))
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        """The replica is in sync and every sentinel knows the replica and its two peers."""
        import redis

        _wait(lambda: redis.Redis(port=self.replica_port).info("replication")["master_link_status"] == "up",
              timeout, "the replica to sync with the primary")
        for port in self.sentinel_ports:
            _wait(lambda port=port: self._sentinel_view(port), timeout, f"sentinel :{port} to discover the cluster")

    def __enter__(self) -> "SentinelCluster":
        return self.start()

    def _sentinel_view(self, port: int) -> bool:
        import redis

        master = redis.Redis(port=port, decode_responses=True).sentinel_master(MASTER)
        return int(master["num-slaves"]) >= 1 and int(master["num-other-sentinels"]) >= 2

    def primary(self) -> tuple[str, int]:
        """The primary's address as the sentinels announce it now."""
        import redis

        host, port = redis.Redis(port=self.sentinel_ports[0]).sentinel_get_master_addr_by_name(MASTER)
        return (host.decode() if isinstance(host, bytes) else host), int(port)

    def kill_primary(self) -> float:
        """Wait for the replica to hold every write, then ``kill -9`` the primary; returns when it died."""
        import redis

        redis.Redis(port=self.primary_port).execute_command("WAIT", 1, 2000)
        process = self.processes["primary"]
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        return time.monotonic()

    def wait_promoted(self, timeout: float = 30) -> float:
        """Seconds until every sentinel names the replica as primary and it accepts writes."""
        import redis

        started = time.monotonic()

        def promoted() -> bool:
            views = {redis.Redis(port=p).sentinel_get_master_addr_by_name(MASTER)[1] for p in self.sentinel_ports}
            return views == {str(self.replica_port).encode()} or views == {self.replica_port}

        _wait(promoted, timeout, "the sentinels to promote the replica")
        _wait(lambda: redis.Redis(port=self.replica_port).info("replication")["role"] == "master", timeout,
              "the replica to take the primary role")
        return time.monotonic() - started

    def __exit__(self, *_) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
        for process in self.processes.values():
            process.wait(10)
