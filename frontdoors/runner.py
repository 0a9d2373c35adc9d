"""Starting and stopping the worker and beat as real processes (``modelwatch run`` and the demo).

They are ordinary ``celery -A workers.app worker|beat`` processes, exactly what a deployment
runs; this module only spawns them with the right environment and waits until they are ready.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import ModelwatchError

ALL_QUEUES = "checks,alerts,recovery,ingest,probes"


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Services:
    items: list[Service] = field(default_factory=list)

    def stop(self, timeout: float = 15.0) -> None:
        """TERM first (a warm shutdown finishes the current task), KILL what is left."""
        for service in self.items:
            if service.alive():
                service.process.send_signal(signal.SIGTERM)  # the main process; it stops its pool
        deadline = time.monotonic() + timeout
        for service in self.items:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.app", *args]


def _spawn(name: str, command: list[str], env: dict[str, str], log: Path | None) -> Service:
    stdout = open(log, "ab") if log else None
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
                               start_new_session=True)
    return Service(name, process, log)


def start_worker(env: dict[str, str], *, log: Path | None = None, concurrency: int = 2,
                 queues: str = ALL_QUEUES, hostname: str = "worker@%h", loglevel: str = "INFO",
                 pool: str = "prefork") -> Service:
    """A worker; ``pool`` is Celery's execution pool (``prefork``, ``solo`` or ``threads``)."""
    command = _celery("worker", "--loglevel", loglevel, "-Q", queues, "--concurrency", str(concurrency),
                      "--hostname", hostname, "--pool", pool, "--without-gossip", "--without-mingle")
    return _spawn("worker", command, env, log)


def start_beat(env: dict[str, str], *, log: Path | None = None, schedule: Path | None = None,
               loglevel: str = "INFO") -> Service:
    command = _celery("beat", "--loglevel", loglevel)
    if schedule is not None:
        command += ["--schedule", str(schedule)]
    return _spawn("beat", command, env, log)


def wait_ready(service: Service, marker: str, timeout: float = 60.0) -> None:
    """Wait until ``marker`` appears in the service's log (celery prints ``ready.`` when it is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise ModelwatchError(f"{service.name} exited with code {service.process.returncode}:\n{service.tail()}")
        if service.log and marker in service.log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise ModelwatchError(f"{service.name} was not ready after {timeout:.0f}s:\n{service.tail()}")


def start_api(env: dict[str, str], *, port: int, host: str = "127.0.0.1", log: Path | None = None) -> Service:
    """``modelwatch serve`` (the JSON API and the dashboard) as a process, like a deployment runs it."""
    command = [sys.executable, "-c", "from frontdoors.cli import main; main()", "serve", "--host", host,
               "--port", str(port)]
    return _spawn("api", command, env, log)


def port_for(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens on it, else a free port the system picks."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, preferred))
            return preferred
        except OSError:
            probe.bind((host, 0))
            return probe.getsockname()[1]
