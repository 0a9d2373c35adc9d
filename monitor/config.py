"""Settings from ``MODELWATCH_*`` environment variables, with embedded defaults.

With nothing set, modelwatch runs on one machine with no server: SQLite under the data
directory for state, and kombu's filesystem transport under the same directory as the broker
(a real worker and a real beat process share it). Setting ``MODELWATCH_BROKER_URL=redis://...``
and ``MODELWATCH_DATABASE_URL=postgresql+psycopg://...`` runs the same code on Redis and
PostgreSQL with any number of workers on any number of hosts.

Build :class:`Settings` once (:func:`get_settings`) and pass it down; no other module of
``monitor/`` reads ``os.environ`` (``tests/unit/test_config.py`` reads every module to check). Outside the
domain, the front doors and the worker touch the environment only for other programs:
``frontdoors/cli/processes.py`` and ``frontdoors/demo/story.py`` copy it for the worker and beat
processes they start (the demo first sets its own ``MODELWATCH_*``), ``frontdoors/cli/flower.py``
checks Flower's own ``FLOWER_BASIC_AUTH``, and ``workers/app.py`` defaults ``OMP_NUM_THREADS``
for numpy before it loads.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


_GRAPHITE_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def check_graphite_prefix(prefix: str) -> str:
    """A Graphite prefix is dotted components of letters, digits, ``_`` and ``-`` (``prod.modelwatch``)."""
    if not _GRAPHITE_PREFIX.match(prefix):
        raise ValueError(f"graphite prefix {prefix!r} must be dot-separated names of letters, digits, '_' or '-', "
                         "e.g. 'modelwatch' or 'prod.modelwatch'")
    return prefix


def default_data_dir() -> Path:
    """Where a person expects an application's state: ``$XDG_DATA_HOME/modelwatch``, else
    ``~/.local/share/modelwatch`` (the XDG base directory default).

    Not the working directory: a command run from another folder must find the same state.
    ``MODELWATCH_DATA_DIR`` and every command's ``--data-dir`` override it.
    """
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "modelwatch"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELWATCH_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where embedded state lives "
                           "(default: ~/.local/share/modelwatch, or $XDG_DATA_HOME/modelwatch).")
    database_url: str | None = Field(None, description="SQLAlchemy URL; SQLite in data_dir if unset.")
    logstore_url: str | None = Field(None, description="Where prediction and label segments (Parquet) are written: "
                                     "a folder, or an fsspec URL such as s3://bucket/modelwatch for workers on several "
                                     "hosts; default: the 'logstore' folder beside the SQLite file, else in data_dir.")
    broker_url: str | None = Field(None, description="Celery broker URL; filesystem broker if unset.")
    sentinel_master: str = Field("mymaster", min_length=1, description="With a sentinel:// broker URL: the "
                                 "name the sentinels monitor the Redis primary under (docs/operations.md#redis-sentinel).")
    visibility_timeout: int = Field(300, ge=1, description="Redis transport visibility timeout (s): how long a "
                                    "message a worker took may stay unacknowledged before Redis hands it to another "
                                    "worker (a killed worker's stage comes back after this). See docs/operations.md.")
    dispatch_interval: float = Field(10.0, gt=0, description="Seconds between beat's due-check dispatch.")
    sweep_interval: float = Field(30.0, gt=0, description="Seconds between recovery/notification sweeps.")
    probe_interval: float = Field(5.0, gt=0, description="Seconds between beat's look for due health probes.")
    segment_sweep_interval: float = Field(0.0, ge=0, description="Seconds between sweeps of the log store for "
                                          "segment files no stored batch of this database references (a write "
                                          "whose transaction never committed) and older than an hour; 0 (the "
                                          "default) turns the sweep off. Set it only where the log store root "
                                          "belongs to this one database: model ids start at 1 in every "
                                          "database, so a sweep would delete another database's segments in a "
                                          "shared root.")
    host_metrics_interval: float = Field(15.0, ge=0, description="Seconds between a worker's samples of its "
                                         "own host (CPU, memory, disk, RSS); 0 turns them off.")
    stream_interval: float = Field(1.0, ge=0, description="Seconds between streaming ticks (real-time alerts: new "
                                   "prediction rows fed to online detectors); 0 turns streaming off.")
    window_cache_mb: int = Field(64, ge=0, description="Columns of a window a worker keeps decoded for reads of the "
                                 "whole window (load_window: reports, exports, notebooks; MB, first read first "
                                 "kept). A check's detect stage reads each feature once and keeps none.")
    stream_chunk_rows: int = Field(20, ge=2, description="Rows of one model per streamed chunk: each chunk's error "
                                   "rate, mean latency and mean score is one value for the detectors.")
    stream_batch_rows: int = Field(5000, ge=1, description="Most prediction rows one streaming tick reads (a backlog "
                                   "is caught up over several ticks).")
    stream_gap_ttl: float = Field(30.0, gt=0, description="Seconds a skipped prediction id is re-read in case its "
                                  "insert commits late (PostgreSQL hands out ids before commit).")
    redrive_after: float = Field(120.0, gt=0, description="Seconds a pending or running check run may make no "
                                 "progress (no stage started or finished) before the sweeper re-publishes its next "
                                 "stage; a stage left running gets task_time_limit more. See docs/operations.md.")
    redrive_queued_after: float = Field(21600.0, gt=0, description="Seconds a run no stage has started may wait "
                                        "while its first message is still in the broker (a long queue) before the "
                                        "sweeper takes it for lost anyway (a purged queue). See monitor/check/redrive.py.")
    redrive_limit: int = Field(5, ge=1, description="Re-drives of one run before the sweeper fails it "
                               "('no progress after N re-drives').")
    recovery_grace: float | None = Field(None, gt=0, description="Seconds a recovery action or verification may be "
                                         "overdue before the sweeper re-sends it (default: max(30, 2 x sweep_interval)).")
    task_events: bool = Field(True, description="Celery task events (received, started, succeeded, sent): what "
                              "Flower shows tasks from. Off, a worker's main process spends about 1.3 ms less CPU "
                              "per check (docs/operations.md#task-events-and-flower); Flower then lists workers "
                              "and queues but no tasks.")
    auto_migrate: bool = Field(True, description="Upgrade the schema on start (advisory-locked on PostgreSQL).")
    api_token: str | None = Field(None, description="Bearer token for the API's writes (actor name 'admin').")
    read_token: str | None = Field(None, description="Bearer token for reads and the dashboard only (actor 'reader').")
    tokens: str = Field("", description="More named tokens, 'name=token[:read],...'; the name is the audit actor.")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest API request body (413 above it).")
    max_batch_rows: int = Field(10_000, ge=1, description="Most rows in one API ingestion batch (413 above it).")
    webhook_secret: str | None = Field(None, description="HMAC-SHA256 secret of the registry hook (plain form "
                                       "and MLflow webhooks); the hook is off while unset.")
    webhook_tolerance: float = Field(300.0, gt=0, description="Registry hook: max clock skew / age of a delivery (s).")
    public_url: str = Field("http://127.0.0.1:8000", description="Base URL used for links in alerts.")
    alert_retry_base: float = Field(2.0, gt=0, description="First retry delay of a failed notification (s); "
                                    "doubles per attempt, with jitter, capped at 300 s.")
    alert_lease: float = Field(120.0, gt=0, description="How long a sender holds a notification (s) before the "
                               "sweeper may hand it to another; keep it above every channel's timeout.")
    graphite_host: str | None = Field(None, description="Graphite (carbon) host for each run's figures over the "
                                      "plaintext protocol; export is off while unset.")
    graphite_port: int = Field(2003, ge=1, le=65535, description="Carbon's plaintext-protocol TCP port.")
    graphite_prefix: str = Field("modelwatch", description="First path components of every metric, e.g. "
                                 "'modelwatch' or 'prod.modelwatch'.")
    graphite_timeout: float = Field(5.0, gt=0, description="Seconds to connect and write to carbon before a retry.")
    outbound_allow_private: bool = Field(False, description="Let alert channels, health probes and registry "
                                         "adapters reach loopback, private and link-local addresses (not the "
                                         "cloud metadata address: list it in outbound_allow to open it).")
    outbound_allow: str = Field("", description="More allowed outbound destinations, comma-separated: CIDRs, "
                                "addresses, host names or '*.domain', e.g. '10.0.0.0/8,alertmanager.internal'.")
    failpoints: str = Field("", description="Fault injection for failure drills, e.g. 'evaluate=sleep(5)'.")
    task_soft_time_limit: int = 300
    task_time_limit: int = 360
    log_level: str = Field("INFO", description="Log level of the worker and beat that modelwatch starts.")
    actor: str | None = Field(None, description="Who CLI decisions are recorded as in the audit trail "
                              "('cli:<actor>'); the OS user when unset.")

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("graphite_prefix")
    @classmethod
    def _graphite_prefix(cls, value: str) -> str:
        return check_graphite_prefix(value)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'modelwatch.db'}"

    @property
    def state_location(self) -> str:
        """Where the state is, for people: the SQLite file, or the database URL without its password."""
        url = self.effective_database_url
        if url.startswith("sqlite:///"):
            return url.removeprefix("sqlite:///")
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def embedded_broker(self) -> bool:
        return self.effective_broker_url.startswith("filesystem://")

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def env_secret(name: str) -> str | None:
    """The value of the environment variable ``name``: the one way a spec reaches a secret (e.g. a
    webhook's auth header) without holding it in clear. Read at use, so a rotated secret applies
    at the worker's next start without re-applying the spec."""
    return os.environ.get(name) or None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
