"""Resource use of a host: CPU %, memory %, disk % and a process tree's resident memory (psutil).

Two producers write the same ``host_metrics`` samples:

* every worker samples its own host from a thread (``workers/signals.py``, every
  ``MODELWATCH_HOST_METRICS_INTERVAL`` seconds), so the service watches itself;
* ``modelwatch agent --model NAME`` samples a model's serving host, straight into the database
  or through ``POST /v1/host-metrics``. Only these samples, tagged with the model, feed the
  model's ``max_cpu_pct`` / ``max_memory_pct`` rules.

Over a check window the agent samples give ``host_cpu_pct_p95`` and ``host_memory_pct_p95`` (the
rules' inputs: p95, so one busy second does not page anyone but a host busy for more than 5% of
the window does), ``host_disk_pct_max`` and ``host_rss_mb_max``.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import psutil
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

if TYPE_CHECKING:  # pandas is for the check's KPIs (host_kpis); `modelwatch agent` only samples
    import numpy as np
    import pandas as pd

logger = logging.getLogger("modelwatch.hostmetrics")

HOST_KPIS = ("host_cpu_pct_p95", "host_memory_pct_p95", "host_disk_pct_max", "host_rss_mb_max")


@dataclass(frozen=True)
class HostSample:
    """One sample. ``rss_bytes`` is the resident memory of ``pid`` and its children (None without a pid)."""

    ts: dt.datetime
    host: str
    source: str
    cpu_pct: float
    memory_pct: float
    disk_pct: float | None = None
    pid: int | None = None
    rss_bytes: int | None = None

    def to_row(self, model_id: int | None = None) -> dict:
        return {**asdict(self), "model_id": model_id}

    def to_json(self) -> dict:
        return {**asdict(self), "ts": self.ts.isoformat()}


def tree_rss(pid: int) -> int | None:
    """Resident bytes of a process and its children (a prefork worker is a main process and its pool)."""
    try:
        root = psutil.Process(pid)
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue  # a child that exited between listing and reading
        return total
    except psutil.Error:
        return None


class SampleIn(BaseModel):
    """One pushed sample (``POST /v1/host-metrics``); a naive ``ts`` is UTC."""

    model_config = ConfigDict(extra="forbid")
    ts: dt.datetime
    host: str = Field(min_length=1, max_length=255)
    cpu_pct: float = Field(ge=0, le=100)
    memory_pct: float = Field(ge=0, le=100)
    disk_pct: float | None = Field(None, ge=0, le=100)
    pid: int | None = Field(None, ge=0, le=2**31 - 1)          # the columns' sizes: integer, bigint
    rss_bytes: int | None = Field(None, ge=0, le=2**63 - 1)

    @field_validator("ts")
    @classmethod
    def _in_utc_range(cls, value: dt.datetime) -> dt.datetime:
        try:
            return value.astimezone(dt.timezone.utc) if value.tzinfo else value
        except OverflowError:
            raise ValueError(f"{value.isoformat()} is out of the representable range in UTC") from None


@dataclass(frozen=True)
class RejectedSample:
    row_number: int  # 1-based position in the pushed list
    reason: str
    row: dict


def parse_samples(raw: list[Any], source: str) -> tuple[list[HostSample], list[RejectedSample]]:
    """Validate pushed samples one by one: the good ones are kept, each bad one comes back with its reason.

    >>> good, bad = parse_samples([{"ts": "2026-01-01T00:00:00", "host": "h", "cpu_pct": 5, "memory_pct": 9},
    ...                            {"ts": "2026-01-01T00:00:15", "host": "h", "cpu_pct": 250, "memory_pct": 9}], "agent")
    >>> len(good), bad[0].row_number, bad[0].reason
    (1, 2, 'cpu_pct: Input should be less than or equal to 100')
    """
    good, bad = [], []
    for number, item in enumerate(raw, start=1):
        try:
            sample = SampleIn.model_validate(item)
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'sample'}: {e['msg']}" for e in exc.errors())
            bad.append(RejectedSample(number, reason, item if isinstance(item, dict) else {"value": repr(item)}))
            continue
        ts = sample.ts if sample.ts.tzinfo else sample.ts.replace(tzinfo=dt.timezone.utc)
        good.append(HostSample(ts=ts.astimezone(dt.timezone.utc), host=sample.host, source=source,
                               cpu_pct=sample.cpu_pct, memory_pct=sample.memory_pct, disk_pct=sample.disk_pct,
                               pid=sample.pid, rss_bytes=sample.rss_bytes))
    return good, bad


class Collector:
    """Takes samples of this host.

    ``psutil.cpu_percent`` measures since its previous call, so the first sample waits
    ``first_cpu_window`` seconds to have something to measure; later ones cost nothing.
    """

    def __init__(self, source: str, *, pid: int | None = None, disk_path: str = "/",
                 host: str | None = None, first_cpu_window: float = 0.2):
        self.source, self.pid, self.disk_path = source, pid, disk_path
        self.host = host or socket.gethostname()
        self._primed = False
        self._first_cpu_window = first_cpu_window

    def sample(self) -> HostSample:
        if self._primed:
            cpu = psutil.cpu_percent(interval=None)
        else:
            cpu = psutil.cpu_percent(interval=self._first_cpu_window)
            self._primed = True
        try:
            disk = psutil.disk_usage(self.disk_path).percent
        except OSError:
            disk = None
        return HostSample(ts=dt.datetime.now(dt.timezone.utc), host=self.host, source=self.source,
                          cpu_pct=float(cpu), memory_pct=float(psutil.virtual_memory().percent),
                          disk_pct=None if disk is None else float(disk), pid=self.pid,
                          rss_bytes=tree_rss(self.pid) if self.pid else None)


class Sampler(threading.Thread):
    """Samples every ``interval`` seconds and hands each sample to ``write`` until stopped.

    A failed write (the database restarting) is logged and the next sample tried: a monitoring
    side job must never take the worker down with it.
    """

    def __init__(self, collector: Collector, write: Callable[[HostSample], object], interval: float):
        super().__init__(name="modelwatch-host-metrics", daemon=True)
        self.collector, self.write, self.interval = collector, write, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.write(self.collector.sample())
            except Exception:  # logged with its traceback; the next interval tries again
                logger.exception("host metrics sample of %s failed", self.collector.source)
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


def host_kpis(samples: pd.DataFrame) -> dict[str, float | None]:
    """The window's resource KPIs from its samples; all None when there were none.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"cpu_pct": [10.0, 20.0, 90.0], "memory_pct": [50.0, 50.0, 50.0],
    ...                       "disk_pct": [40.0, 41.0, None], "rss_bytes": [None, 2**20, 3 * 2**20]})
    >>> host_kpis(frame)
    {'host_cpu_pct_p95': 83.0, 'host_memory_pct_p95': 50.0, 'host_disk_pct_max': 41.0, 'host_rss_mb_max': 3.0}
    """
    import numpy as np
    import pandas as pd

    kpis: dict[str, float | None] = dict.fromkeys(HOST_KPIS)
    if not len(samples):
        return kpis

    def values(column: str) -> np.ndarray:
        if column not in samples:
            return np.array([])
        array = pd.to_numeric(samples[column], errors="coerce").to_numpy(dtype=float)
        return array[np.isfinite(array)]

    cpu, memory, disk, rss = values("cpu_pct"), values("memory_pct"), values("disk_pct"), values("rss_bytes")
    if cpu.size:
        kpis["host_cpu_pct_p95"] = float(np.percentile(cpu, 95))
    if memory.size:
        kpis["host_memory_pct_p95"] = float(np.percentile(memory, 95))
    if disk.size:
        kpis["host_disk_pct_max"] = float(disk.max())
    if rss.size:
        kpis["host_rss_mb_max"] = float(rss.max() / 2**20)
    return kpis


def database_writer(url: str, model_id: int | None = None) -> Callable[[HostSample], object]:
    """A ``Sampler`` write function that stores each sample in the database at ``url``."""

    def write(sample: HostSample) -> object:
        from monitor.db.engine import session_scope
        from monitor.store import operations

        with session_scope(url) as session:
            return operations.save_host_samples(session, [sample.to_row(model_id)])

    return write
