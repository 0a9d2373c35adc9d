"""What a process imports decides what it costs to start: scipy.stats and scikit-learn are about
1.5 CPU-s of imports, and the suite starts about 160 CLI, worker, beat and API processes that only
validate specs or send tasks. These tests pin down that those do not import them: only the code
that computes with them does (an AUC, a drift test, a calibration fit), and a worker's main process
imports what a check computes with (scipy.stats, scikit-learn) once before it forks, for its pool
children (workers/preload.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, migrated_sqlite
from tests.support.scenario import MODEL, seed_fraud, write_model, write_window

HEAVY = ("scipy", "sklearn")

#: A spec with every plugin family in it: rules, an interaction rule, a channel, a recovery action.
SPEC = {"models": [{
    "name": "fraud", "task": "binary_classification", "window": "1h",
    "columns": {"numeric": ["amount"], "categorical": ["channel"]},
    "rules": {"recall_drop_pct": 10, "min_labelled_rows": 100},
    "interactions": {"ctr_drop_pct": 20},
    "alerts": [{"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s"}}],
    "recovery": {"recall_drop": [{"action": "recalibrate"}]},
}]}


def imported_after(code: str, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter; the heavy top-level packages imported, by phase."""
    script = f"""
import json, sys
phases = {{}}
def mark(name):
    phases[name] = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
{code}
print(json.dumps(phases))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_validating_a_spec_with_every_plugin_family_imports_neither_scipy_nor_sklearn():
    phases = imported_after(f"""
import frontdoors.cli.main
from monitor.spec import parse_spec
from monitor.plugins import ACTIONS, ADAPTERS, CHANNELS, RULES
spec = parse_spec({SPEC!r})[0]
for family in (RULES, CHANNELS, ACTIONS, ADAPTERS):
    family.load()
assert spec.recovery["recall_drop"][0].action == "recalibrate", spec.recovery
mark("validated")
""")
    assert phases["validated"] == []


def test_the_app_and_its_task_modules_import_neither_scipy_nor_sklearn(tmp_path):
    """Beat and a worker's main process import the app and its task modules (Celery's ``include``)
    and never run a check themselves. Beat never needs the statistics; a worker imports them
    on ``worker_init`` for its pool children (the next test). The suite starts about 80 of these."""
    env = {**os.environ, "MODELWATCH_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    phases = imported_after("""
from workers.app import app
app.loader.import_default_modules()
assert "tasks.check" in sys.modules and "monitor.check.stages" in sys.modules
mark("tasks")
""", env=env)
    assert phases["tasks"] == []


def test_a_worker_imports_the_statistics_before_forking_because_its_checks_need_them(tmp_path, sqlite_url):
    """``worker_init`` (sent before the prefork pool starts) imports scipy.stats and scikit-learn,
    so the pool children inherit them instead of each importing them on its first check: a real
    check's six stages, run in a fresh interpreter, import both when nothing did before (the
    AUC, the drift tests, the joint-drift classifier, CBPE's calibration)."""
    seed_fraud(sqlite_url, [], recall=0.4, rows=300, reference_rows=400, seed=7)
    env = {**os.environ, "MODELWATCH_DATA_DIR": str(tmp_path / "data"), "MODELWATCH_DATABASE_URL": sqlite_url,
           "PYTHONPATH": str(ROOT)}
    code = f"""
from workers.app import app
app.loader.import_default_modules()
INIT
mark("forked")
from monitor.config import get_settings
from tests.support.stages import run_chain
run_chain(get_settings(), {MODEL!r})
mark("checked")
"""
    lazy = imported_after(code.replace("INIT", ""), env=env)
    assert lazy["forked"] == [] and lazy["checked"] == ["scipy", "sklearn"]

    initialised = imported_after(code.replace("INIT", "from celery.signals import worker_init; "
                                                      "worker_init.send(sender=None)"), env=env)
    assert initialised["forked"] == ["scipy", "sklearn"]


#: what a command that only parses its arguments must not import (each 0.05-0.8 CPU-s)
STACKS = ("pandas", "numpy", "pyarrow", "scipy", "sklearn", "alembic", "celery", "kombu", "httpx", "fastapi",
          "sqlalchemy", "pydantic", "pydantic_settings", "rich", "humanize")


def cli_imports(args: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The top-level packages of STACKS that ``modelwatch ARGS`` imported, run in a fresh interpreter."""
    script = f"""
import json, sys
from frontdoors.cli import main
try:
    main({args!r})
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({STACKS!r}))))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_help_imports_only_click():
    """``modelwatch --help`` (and a subcommand's) cost 1.4 CPU-s when every command module imported
    settings, SQLAlchemy, alembic, rich and the schemas at the top; now they import them when they run."""
    assert cli_imports(["--help"]) == []
    assert cli_imports(["ingest", "--help"]) == []
    assert cli_imports(["recovery", "list", "--help"]) == []


def test_a_command_on_a_current_schema_does_not_import_alembic(tmp_path, sqlite_url):
    """Every command brings the schema up to date first; at the head revision that needs one SELECT,
    not alembic (monitor.db.migrate.at_head). A new data dir still gets migrated (alembic)."""
    data = tmp_path / "data"
    data.mkdir()
    os.replace(sqlite_url.removeprefix("sqlite:///"), data / "modelwatch.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    env.update({"MODELWATCH_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)})
    imported = cli_imports(["audit"], env=env)
    assert "sqlalchemy" in imported and "alembic" not in imported, imported
    assert "alembic" in cli_imports(["migrate", "--data-dir", str(tmp_path / "new")], env=env)


#: what a command computes nothing with: pandas (with numpy and pyarrow about 0.3 CPU-s), the test
#: statistics (scipy.stats about 0.5) and the HTTP client (httpx, which imports rich and pygments
#: for its own CLI: about 0.05)
NOT_FOR_READERS = {"pandas", "scipy", "httpx"}


@pytest.fixture(scope="module")
def checked_state(tmp_path_factory, migrated_sqlite_template):
    """A data dir holding the fraud model with a finished check and its report (the chain run
    in this process), for the commands that read runs."""
    from monitor.config import Settings
    from monitor.db.engine import dispose_all
    from tests.support.stages import run_chain

    data = tmp_path_factory.mktemp("checked") / "data"
    url = migrated_sqlite(data / "modelwatch.db", migrated_sqlite_template)
    seed_fraud(url, [], recall=0.4, rows=300, reference_rows=400, seed=7)
    run_chain(Settings(data_dir=data), MODEL)
    dispose_all()
    return data


def cli_env(data) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    return env | {"MODELWATCH_DATA_DIR": str(data), "PYTHONPATH": str(ROOT), "MODELWATCH_OUTBOUND_ALLOW_PRIVATE": "true"}


@pytest.mark.parametrize("args", [
    ["status"], ["report", MODEL, "-o", "{tmp}/report.html"], ["check", MODEL, "--rerun"],
    ["agent", "--model", MODEL, "--once"],
], ids=lambda args: args[0])
def test_commands_that_read_or_enqueue_runs_import_neither_pandas_nor_scipy_nor_httpx(checked_state, tmp_path, args):
    """``status``, ``report``, ``check`` (publishing the run) and ``agent --once`` read rows,
    render stored results or publish a message: pandas, scipy.stats and httpx are the imports of the
    code that computes or sends (these four cost 0.18-0.37 CPU-s more each when they imported them:
    docs/performance.md, "CLI start-up")."""
    data = tmp_path / "data"
    shutil.copytree(checked_state, data)
    imported = cli_imports([arg.format(tmp=tmp_path) for arg in args], env=cli_env(data))
    assert "sqlalchemy" in imported and not NOT_FOR_READERS & set(imported), imported


def test_apply_and_ingest_import_neither_scipy_nor_httpx(tmp_path):
    """``apply`` profiles the reference (pandas) and checks the spec's destinations without
    connecting (no httpx); the profile needs no test statistic (no scipy.stats), on a new data dir
    as on an existing one. ``ingest`` validates and writes rows (pandas, pyarrow) only."""
    spec = write_model(tmp_path, "http://127.0.0.1:9/hook")
    predictions, _ = write_window(tmp_path, version="1", recall=0.5, n=200)
    env = cli_env(tmp_path / "data")
    applied = cli_imports(["apply", "-f", str(spec)], env=env)
    assert {"pandas", "alembic"} <= set(applied) and not {"scipy", "httpx"} & set(applied), applied
    again = cli_imports(["apply", "-f", str(spec)], env=env)
    assert "pandas" in again and not {"scipy", "httpx", "alembic"} & set(again), again
    ingested = cli_imports(["ingest", "predictions", str(predictions), "--model", MODEL], env=env)
    assert "pyarrow" in ingested and not {"scipy", "httpx"} & set(ingested), ingested


@pytest.mark.parametrize("package", ["monitor.detect", "monitor.kpis", "monitor.reports", "monitor.service"])
def test_every_name_a_package_exports_on_first_use_is_there(package):
    """These packages import their pandas (or jinja2) modules when a name is first asked for (PEP
    562), so a misspelt entry would only fail in the process that asks; each one resolves."""
    module = __import__(package, fromlist=["__all__"])
    assert module.__all__ and all(getattr(module, name) is not None for name in module.__all__)
    with pytest.raises(AttributeError):
        getattr(module, "no_such_name")
