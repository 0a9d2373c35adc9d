"""A real carbon-cache (Debian's ``graphite-carbon``) on free loopback ports, writing whisper files
to a temporary folder at 1-second resolution.

Import the fixture into a test module: ``from tests.support.carbon_server import carbon``. It
yields a :class:`Carbon` not yet started; :meth:`Carbon.points` reads a metric back from its whisper file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, unavailable, wait_for

CARBON = shutil.which("carbon-cache") or "/usr/bin/carbon-cache"

# Every cache setting the test depends on, stated: loopback only, no creation or update throttling
# (the defaults cap new files at 50 a minute), write to disk as soon as points arrive.
CONF = """[cache]
STORAGE_DIR = {root}/storage/
LOCAL_DATA_DIR = {root}/storage/whisper/
WHISPER_DIR = {root}/storage/whisper/
CONF_DIR = {root}/
LOG_DIR = {root}/log/
PID_DIR = {root}/
DATABASE = whisper
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
MIN_TIMESTAMP_RESOLUTION = 1
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {line_port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {pickle_port}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {query_port}
USE_FLOW_CONTROL = True
LOG_LISTENER_CONN_SUCCESS = False
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = True
WHISPER_FALLOCATE_CREATE = False
"""

# 1-second points for two hours (a check's window ends within seconds of the test), then minutes.
SCHEMAS = """[everything]
pattern = .*
retentions = 1s:2h,60s:1d
"""


class Carbon:
    """One carbon-cache with its own folder and ports; :meth:`start` runs it (the fixture stops it)."""

    def __init__(self, root: Path):
        self.root, self.host, self.port = root, "127.0.0.1", free_port()
        self.whisper_dir = root / "storage" / "whisper"
        self.process: subprocess.Popen | None = None
        (root / "log").mkdir()
        (root / "carbon.conf").write_text(CONF.format(root=root, line_port=self.port, pickle_port=free_port(),
                                                      query_port=free_port()))
        (root / "storage-schemas.conf").write_text(SCHEMAS)

    def start(self) -> "Carbon":
        """Start carbon-cache in the foreground of its own process group; wait until it listens."""
        with open(self.root / "carbon.out", "wb") as log:
            self.process = subprocess.Popen([CARBON, f"--config={self.root / 'carbon.conf'}", "--nodaemon", "--debug",
                                             "start"], stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                            start_new_session=True)
        wait_for(lambda: _listening(self.port) or self.process.poll() is not None, 30, "carbon-cache to listen")
        if self.process.poll() is not None:
            raise AssertionError(f"carbon-cache exited {self.process.returncode}:\n"
                                 f"{(self.root / 'carbon.out').read_text(errors='replace')[-3000:]}")
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def file_of(self, path: str) -> Path:
        return self.whisper_dir.joinpath(*path.split(".")).with_suffix(".wsp")

    def points(self, path: str, since: int, until: int) -> dict[int, float]:
        """The non-empty points of metric ``path`` between two Unix times, read from its whisper file."""
        import whisper

        file = self.file_of(path)
        if not file.exists():
            return {}
        (start, _end, step), values = whisper.fetch(str(file), since, until)
        return {start + i * step: v for i, v in enumerate(values) if v is not None}

    def metrics(self) -> list[str]:
        """Every metric carbon has a file for, as a dotted path."""
        return sorted(".".join(p.relative_to(self.whisper_dir).with_suffix("").parts)
                      for p in self.whisper_dir.rglob("*.wsp"))


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def carbon() -> Iterator[Carbon]:
    """A carbon-cache configured on free ports but not started: the test calls ``carbon.start()``
    (so it can first see what modelwatch does while carbon is down)."""
    if not os.path.exists(CARBON):
        unavailable("carbon-cache is not installed (Debian: apt-get install graphite-carbon; "
                    "scripts/ensure-services.sh does it)")
    try:
        import whisper  # noqa: F401
    except ImportError:
        unavailable("the whisper module is not installed (the test extra has it: pip install whisper)")
    server = Carbon(Path(tempfile.mkdtemp(prefix="mw-carbon-")))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
