"""Fixtures that start the real things: a redis-server on a free port, a throwaway PostgreSQL
database (on the server named by MODELWATCH_TEST_PG_ADMIN_URL, a local one, or a cluster this
fixture initialises itself), and real worker and beat processes.

In CI (``CI=true``) a service that cannot be had fails the test; elsewhere it skips it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: Every receiver the tests start listens on loopback, which the outbound guard refuses by
#: default (monitor/outbound.py). Set at import, so every xdist worker and every process a test
#: spawns inherits it; the SSRF tests (tests/unit/test_outbound.py, tests/integration/test_outbound.py)
#: clear it to prove the refusal.
OUTBOUND_ALLOWED = {"MODELWATCH_OUTBOUND_ALLOW_PRIVATE": "true"}
os.environ.update(OUTBOUND_ALLOWED)
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.2):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# --- Redis -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_server() -> Iterator[dict]:
    """A redis-server of our own (or REDIS_URL's). Yields {"url", "port", "restart"}."""
    if os.environ.get("REDIS_URL"):
        yield {"url": os.environ["REDIS_URL"], "port": None}
        return
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (make services installs it)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="mw-redis-")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", workdir, "--daemonize", "no"]
    import redis

    client = redis.Redis(port=port)
    processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)]

    def restart() -> None:
        """Stop the server and start an empty one on the same port (no persistence: data is lost)."""
        processes[-1].terminate()
        processes[-1].wait(10)
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        wait_for(lambda: _ping(client), 15, "the restarted redis-server to answer PING")

    try:
        wait_for(lambda: _ping(client), 15, "redis-server to answer PING")
        yield {"url": f"redis://127.0.0.1:{port}/0", "port": port, "restart": restart}
    finally:
        processes[-1].terminate()
        processes[-1].wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def redis_url(redis_server) -> str:
    """The session's Redis, emptied before each test so no queued message crosses tests."""
    import redis

    redis.Redis.from_url(redis_server["url"]).flushdb()
    return redis_server["url"]


# --- PostgreSQL --------------------------------------------------------------------------------

def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


def _can_connect(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server that this session may create databases on."""
    for url in (os.environ.get("MODELWATCH_TEST_PG_ADMIN_URL"), "postgresql://postgres@127.0.0.1:5432/postgres"):
        if url and _can_connect(url):
            yield url
            return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        unavailable("no PostgreSQL server reachable and no initdb to start one (make services installs it)")
    datadir = Path(tempfile.mkdtemp(prefix="mw-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres_user([initdb, "-D", str(datadir), "-A", "trust", "-U", "postgres"]),
                   check=True, stdout=subprocess.DEVNULL)
    options = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres_user([pg_ctl, "-D", str(datadir), "-o", options, "-w", "-l",
                                      str(datadir / "log"), "start"]), check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres_user([pg_ctl, "-D", str(datadir), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(datadir, ignore_errors=True)


# A test that needs a migrated schema gets a copy of one migrated once per pytest worker (a SQLite
# file, a PostgreSQL template database) instead of running every migration again: running them
# cost 0.5-1 s per test on a quiet machine and 3-4 s at load 10, on about 200 tests. The copy is
# the migrated schema byte for byte; migrating itself stays tested where a test asks for an empty
# database (``postgres_url``, a fresh SQLite path) and calls ``upgrade`` (tests/integration/test_store.py,
# test_logstore.py), and by every worker, beat and CLI a test starts on an empty data folder.

@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    """A SQLite state database at the migrations' head, made once per pytest worker."""
    from monitor.db.engine import dispose_all
    from monitor.db.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "state.db"
    upgrade(f"sqlite:///{path}")
    dispose_all()
    return path


def migrated_sqlite(path: Path, template: Path) -> str:
    """Copy the migrated ``template`` to ``path`` (which must not exist yet) and return its URL."""
    if path.exists():
        raise AssertionError(f"{path} exists: a migrated copy must not overwrite a test's database")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path, migrated_sqlite_template) -> str:
    """A migrated SQLite state database in the test's own folder."""
    return migrated_sqlite(tmp_path / "state.db", migrated_sqlite_template)


@pytest.fixture
def migrate(migrated_sqlite_template) -> Callable[[str], str]:
    """``migrate(url)``: the schema at head in the database at ``url``, as ``upgrade(url)`` leaves it.

    A SQLite file that does not exist yet becomes a copy of the migrated template; any other
    database (PostgreSQL, an existing file) is upgraded. Returns ``url``."""
    from sqlalchemy.engine import make_url

    from monitor.db.migrate import upgrade

    def migrate_url(url: str) -> str:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
                and not Path(parsed.database).exists():
            migrated_sqlite(Path(parsed.database), migrated_sqlite_template)
        else:
            upgrade(url)
        return url

    return migrate_url


def _database_url(admin_url: str, name: str) -> str:
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_migrated_template(pg_admin_url) -> Iterator[str]:
    """The name of a PostgreSQL database at the migrations' head, made once per pytest worker, that
    ``CREATE DATABASE ... TEMPLATE`` copies (a file copy on the server: milliseconds)."""
    import psycopg

    from monitor.db.engine import dispose_all
    from monitor.db.migrate import upgrade

    name = f"mw_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(_database_url(pg_admin_url, name))
        dispose_all()  # a template must have no open connection while it is copied
        yield name
    finally:
        dispose_all()
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _throwaway_database(pg_admin_url: str, tmp_path: Path, monkeypatch, template: str | None) -> Iterator[str]:
    """A database of its own for one test (a copy of ``template`` if given), dropped after it; its
    log store segments in the test's folder."""
    import psycopg

    if not os.environ.get("MODELWATCH_LOGSTORE_URL"):
        monkeypatch.setenv("MODELWATCH_LOGSTORE_URL", str(tmp_path / "logstore"))

    name = f"mw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _database_url(pg_admin_url, name)
    finally:
        from monitor.db.engine import dispose_all

        dispose_all()
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(pg_admin_url, tmp_path, monkeypatch) -> Iterator[str]:
    """A fresh, empty database (no schema: a test or the process it starts migrates it)."""
    yield from _throwaway_database(pg_admin_url, tmp_path, monkeypatch, template=None)


@pytest.fixture
def migrated_postgres_url(pg_admin_url, pg_migrated_template, tmp_path, monkeypatch) -> Iterator[str]:
    """A database of its own with the schema at the migrations' head (a copy of the worker's template)."""
    yield from _throwaway_database(pg_admin_url, tmp_path, monkeypatch, template=pg_migrated_template)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """Each storage test runs on both engines, with the schema migrated."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("migrated_postgres_url")


# --- Processes ---------------------------------------------------------------------------------

class Stack:
    """Environment and real processes (worker, beat, CLI) for one test's modelwatch."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs = env, logs
        self.services: list = []

    @property
    def database_url(self) -> str:
        from monitor.config import Settings

        return Settings(data_dir=self.env["MODELWATCH_DATA_DIR"],
                        database_url=self.env.get("MODELWATCH_DATABASE_URL")).effective_database_url

    def settings(self):
        from monitor.config import Settings

        return Settings(data_dir=self.env["MODELWATCH_DATA_DIR"],
                        database_url=self.env.get("MODELWATCH_DATABASE_URL"),
                        broker_url=self.env.get("MODELWATCH_BROKER_URL"))

    def worker(self, name: str = "w1", extra_env: dict[str, str] | None = None, concurrency: int = 2):
        from frontdoors import runner

        service = runner.start_worker({**self.env, **(extra_env or {})}, log=self.logs / f"worker-{name}.log",
                                      concurrency=concurrency, hostname=f"{name}@%h")
        self.services.append(service)
        runner.wait_ready(service, "ready.", timeout=60)
        return service

    def beat(self):
        from frontdoors import runner

        service = runner.start_beat(self.env, log=self.logs / "beat.log",
                                    schedule=Path(self.env["MODELWATCH_DATA_DIR"]) / "beat-schedule")
        self.services.append(service)
        runner.wait_ready(service, "beat: Starting", timeout=60)
        return service

    def cli(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        result = subprocess.run([str(ROOT / ".venv/bin/modelwatch"), *args] if (ROOT / ".venv/bin/modelwatch").exists()
                                else ["modelwatch", *args], env=self.env, capture_output=True, text=True,
                                timeout=timeout, cwd=self.env["MODELWATCH_DATA_DIR"])
        if check and result.returncode != 0:
            raise AssertionError(f"modelwatch {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def celery(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        import sys

        return subprocess.run([sys.executable, "-m", "celery", "-A", "workers.app", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=True, cwd=ROOT)

    def stop(self) -> None:
        """End every process of the test at once: SIGKILL to each process group.

        A test is over and its state is thrown away, so nothing needs a warm shutdown, which
        takes a Celery worker about 5 s even when idle (a drill that needs a graceful stop
        asks for it itself).
        """
        for service in self.services:
            if service.alive():
                try:
                    os.killpg(service.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for service in self.services:
            service.process.wait(10)

    def logs_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-6000:]}" for p in sorted(self.logs.glob("*.log")))


def _stack(tmp_path: Path, request, extra: dict[str, str]) -> Iterator[Stack]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")} | OUTBOUND_ALLOWED
    env.update({"MODELWATCH_DATA_DIR": str(tmp_path / "data"), "MODELWATCH_DISPATCH_INTERVAL": "1",
                "MODELWATCH_SWEEP_INTERVAL": "2", "PYTHONPATH": str(ROOT)}, **extra)
    (tmp_path / "data").mkdir(exist_ok=True)
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    stack = Stack(env, logs)
    try:
        yield stack
    finally:
        stack.stop()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / f"{request.node.name}.log").write_text(stack.logs_text())


@pytest.fixture
def redis_stack(tmp_path, request, redis_url, migrated_postgres_url) -> Iterator[Stack]:
    """modelwatch on Redis and PostgreSQL (a short visibility timeout, for redelivery drills); the
    database starts migrated (the embedded stack's processes migrate their empty database)."""
    yield from _stack(tmp_path, request, {"MODELWATCH_BROKER_URL": redis_url,
                                          "MODELWATCH_DATABASE_URL": migrated_postgres_url,
                                          "MODELWATCH_VISIBILITY_TIMEOUT": "5"})


@pytest.fixture
def embedded_stack(tmp_path, request) -> Iterator[Stack]:
    """modelwatch on the embedded default: SQLite and the filesystem broker."""
    yield from _stack(tmp_path, request, {})


_SUMMARY_LINES: list[str] = []


def pytest_runtest_logreport(report) -> None:
    """Collect the ``summary_line`` a test recorded (``record_property``); with xdist this runs in
    the controller, which gets each worker's reports, so the line survives output capture."""
    if report.when == "call":
        _SUMMARY_LINES.extend(str(value) for key, value in report.user_properties if key == "summary_line")


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the figures tests asked to show (e.g. the fault drill's ``faults injected N, ...``)."""
    for line in _SUMMARY_LINES:
        terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def _fresh_settings():
    """``get_settings`` is cached per process; tests that change the environment get a fresh one."""
    from monitor.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@contextlib.contextmanager
def session(url: str):
    from monitor.db.engine import session_scope

    with session_scope(url) as s:
        yield s


def pytest_collection_modifyitems(config, items) -> None:
    """Long tests first, dealt over the xdist workers (tests/support/longest_first.py)."""
    from tests.support import longest_first

    longest_first.reorder(items)


if os.environ.get("MODELWATCH_CPU_PROFILE"):
    # tests/support/cpu_profile.py: the pytest worker's own CPU per test (setup + call + teardown),
    # and what it waited for in its children; the processes a test starts are measured apart.
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        import json

        before, start = os.times(), time.monotonic()
        yield
        after = os.times()
        row = {"nodeid": item.nodeid, "wall": time.monotonic() - start,
               "self_cpu": (after.user - before.user) + (after.system - before.system),
               "children_cpu": (after.children_user - before.children_user)
               + (after.children_system - before.children_system)}
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with (Path(os.environ["MODELWATCH_CPU_PROFILE"]) / f"tests-{worker}.jsonl").open("a") as handle:
            handle.write(json.dumps(row) + "\n")
