"""A user's first hour (issue 13): where the state is, exit codes, JSON a script can trust, the
demo's lines, and the core CLI without the [server] extra. In process, on SQLite, no broker."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from frontdoors import schemas
import frontdoors.cli.main as cli_main
from frontdoors.cli.exitcodes import check_exit_code, ingest_exit_code
from frontdoors.cli.main import main
from frontdoors.jsonfmt import normalize
from monitor.check.outcome import outcome_of
from monitor.config import Settings
from tests.unit.test_cli_edge import applied, data_dir, predictions_csv, run, runner, spec_file  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


# --- 3. state location -----------------------------------------------------------------------

def test_default_data_dir_is_the_xdg_data_dir_not_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("MODELWATCH_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == tmp_path / "home" / ".local" / "share" / "modelwatch"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().data_dir == tmp_path / "xdg" / "modelwatch"
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(tmp_path / "mine"))
    assert Settings().data_dir == tmp_path / "mine"


def test_a_command_where_there_is_no_state_refuses_and_says_how_to_create_it(runner, data_dir):
    for args in (["status"], ["alerts"], ["recovery", "list"], ["audit"], ["check", "churn"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert f"no modelwatch state at {data_dir / 'modelwatch.db'}" in result.output
        assert "modelwatch apply -f models.yaml" in result.output and "--data-dir" in result.output
    assert not (data_dir / "modelwatch.db").exists()


def test_every_command_takes_data_dir(runner, applied, data_dir, monkeypatch, tmp_path):
    def commands(group: click.Group, path=()):
        for name, command in group.commands.items():
            yield (*path, name), command
            if isinstance(command, click.Group):
                yield from commands(command, (*path, name))

    missing = [" ".join(p) for p, c in commands(main) if not any(o.name == "data_dir" for o in c.params)]
    assert missing == []
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(tmp_path / "elsewhere"))
    after = run(runner, "status", "--json", "--data-dir", str(data_dir))
    assert [m["model"] for m in json.loads(after.output)["models"]] == ["churn"]
    before = run(runner, "--data-dir", str(data_dir), "status")
    assert f"state: {data_dir / 'modelwatch.db'}" in before.output and "churn" in before.output


# --- 5. exit codes ---------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, fail_on, code", [
    ("healthy", "firing", 0), ("firing", "firing", 1), ("warning", "firing", 0), ("warning", "warning", 1),
    ("no_traffic", "firing", 0), ("no_traffic", "warning", 1), ("firing", "never", 0), ("failed", "never", 3),
    ("running", "firing", 3),
])
def test_check_exit_code_per_outcome(outcome, fail_on, code):
    assert check_exit_code(outcome, fail_on) == code


def _summary(outcome: str, **extra) -> dict:
    return {"run_id": "r1", "model": "churn", "version": "1", "status": "failed" if outcome == "failed" else "succeeded",
            "outcome": outcome, "outcome_message": outcome, "error": None, "generated_at": dt.datetime.now(dt.timezone.utc),
            "window": {"start": "2026-12-03 00:00:00+00:00", "end": "2026-12-03T01:00:00+00:00"},
            "counts": {"rows": 10, "labelled_rows": 5}, "kpis": {"recall": {"value": 0.5, "baseline": 0.8, "change_pct": -37.5}},
            "findings": [{"rule": "recall_drop", "kind": "performance", "status": "firing", "severity": "critical",
                          "message": "recall fell"}] if outcome == "firing" else [],
            "alerts": [], "recovery_actions": [], **extra}


@pytest.mark.parametrize("outcome, args, code", [("firing", [], 1), ("firing", ["--fail-on", "never"], 0),
                                                 ("healthy", [], 0), ("failed", [], 3)])
def test_check_wait_exits_with_the_runs_outcome(runner, applied, monkeypatch, outcome, args, code):
    monkeypatch.setattr("tasks.check.launch", lambda run_id, name: None)
    monkeypatch.setattr(sys.modules["frontdoors.cli.main"], "_wait_for_run", lambda url, run_id, timeout: _summary(outcome))
    result = runner.invoke(main, ["check", "churn", "--wait", *args])
    assert result.exit_code == code, result.output
    as_json = runner.invoke(main, ["check", "churn", "--wait", "--rerun", "--json", *args])
    assert as_json.exit_code == code
    data = json.loads(as_json.stdout)
    assert data["exit_code"] == code and data["outcome"] == outcome and data["schema_version"] == 1
    assert ISO_Z.match(data["window"]["start"]) and ISO_Z.match(data["generated_at"])


def test_check_that_times_out_exits_3(runner, applied, monkeypatch):
    monkeypatch.setattr("tasks.check.launch", lambda run_id, name: None)
    result = runner.invoke(main, ["check", "churn", "--wait", "--timeout", "0.3"])
    assert result.exit_code == 3 and "is still pending" in result.output


def test_ingest_whose_rows_are_all_quarantined_exits_1(runner, applied, tmp_path, predictions_csv):
    bad = tmp_path / "bad.csv"
    bad.write_text("request_id,ts,prediction,score,age,plan\nb1,never,1,0.9,41,basic\nb2,nope,0,0.2,35,pro\n")
    result = runner.invoke(main, ["ingest", "predictions", str(bad), "--model", "churn", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["exit_code"] == 1 and json.loads(result.stdout)["quarantined"] == 2
    # one bad row of five is 20 %: fine by default, too many with --max-quarantined 10
    partial = runner.invoke(main, ["ingest", "predictions", str(predictions_csv), "--model", "churn",
                                   "--max-quarantined", "10"])
    assert partial.exit_code == 1 and "1 of 5 rows quarantined (allowed: 10%)" in partial.output
    assert ingest_exit_code(3, 1, 1, 100.0) == 0 and ingest_exit_code(0, 4, 0, 0.0) == 0


# --- 6 and 10. JSON for scripts, the run's outcome ---------------------------------------------

def test_json_schemas_in_docs_match_the_models():
    folder = ROOT / "docs" / "schemas"
    expected = schemas.json_schemas()
    on_disk = {p.name: p.read_text() for p in folder.glob("*.schema.json")}
    assert on_disk == expected, "docs/schemas/ drifted: run `python -m frontdoors.schemas docs/schemas`"


def test_every_commands_json_output_names_a_schema_in_docs():
    """``emit_json`` takes the schema's file name (so a command imports the schemas only to print
    JSON): every call in the CLI's modules names one of ``SCHEMAS``, and every schema is printed."""
    import ast

    named = []
    for path in sorted((ROOT / "frontdoors" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "emit_json":
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path.name}:{node.lineno}: emit_json takes a schema name"
                named.append(first.value)
    assert set(named) <= set(schemas.SCHEMAS), set(named) - set(schemas.SCHEMAS)
    assert set(named) == set(schemas.SCHEMAS), set(schemas.SCHEMAS) - set(named)


def test_every_json_time_is_iso_utc_with_z():
    value = normalize({"a": dt.datetime(2026, 12, 3, 0, 5, 5, 235958, tzinfo=dt.timezone.utc),
                       "b": "2026-12-03 00:05:05.235958+00:00", "c": ["2026-12-03T00:05:05+00:00"],
                       "d": dt.datetime(2026, 12, 3, 1, 5, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                       "text": "not a time 2026-12-03"})
    assert value == {"a": "2026-12-03T00:05:05.235958Z", "b": "2026-12-03T00:05:05.235958Z",
                     "c": ["2026-12-03T00:05:05Z"], "d": "2026-12-03T00:05:05Z", "text": "not a time 2026-12-03"}


def test_recovery_list_json_and_the_api_use_the_same_time_format(runner, applied, data_dir):
    from fastapi.testclient import TestClient

    from frontdoors.api.app import create_app
    from monitor.db.engine import session_scope
    from monitor.db.schema import RecoveryAction, utcnow
    from monitor.store import models as store

    settings = Settings(data_dir=data_dir, read_token="r")
    with session_scope(settings.effective_database_url) as session:
        model = store.get_model(session, "churn")
        session.add(RecoveryAction(model_id=model.id, kind="retrain", state="scheduled", run_id="r1",
                                   dedup_key="k", reason="why", eta=utcnow() + dt.timedelta(hours=1)))
    cli = json.loads(run(runner, "recovery", "list", "--json").output)["actions"][0]
    api = TestClient(create_app(settings)).get("/v1/recovery", headers={"Authorization": "Bearer r"}).json()[0]
    assert ISO_Z.match(cli["eta"]) and ISO_Z.match(cli["created_at"])
    assert cli["eta"] == api["eta"] and cli["created_at"] == api["created_at"]


def test_ingest_json_says_reasons_like_the_client():
    from monitor.client import IngestResult

    assert "reasons" in IngestResult.__dataclass_fields__
    assert "reasons" in schemas.IngestOutput.model_fields and "examples" not in schemas.IngestOutput.model_fields


@pytest.mark.parametrize("summary, outcome", [
    ({"status": "succeeded", "version": "2", "counts": {"rows": 0}, "findings": []}, "no_traffic"),
    ({"status": "succeeded", "version": "2", "counts": {"rows": None}, "findings": []}, "no_traffic"),
    ({"status": "succeeded", "counts": {"rows": 9}, "findings": [{"rule": "r", "status": "firing"}]}, "firing"),
    ({"status": "succeeded", "counts": {"rows": 9}, "findings": [{"rule": "r", "status": "insufficient_data"}]},
     "warning"),
    ({"status": "succeeded", "counts": {"rows": 9}, "findings": [{"rule": "r", "status": "ok"}]}, "healthy"),
    ({"status": "failed", "error": "boom", "counts": {}, "findings": []}, "failed"),
])
def test_run_outcome(summary, outcome):
    found, message = outcome_of(summary)
    assert found == outcome
    if outcome == "no_traffic":
        assert message.startswith("no traffic on version 2 yet")


# --- 4. the demo's lines work as printed -----------------------------------------------------

def test_look_around_lines_name_a_runnable_modelwatch(tmp_path, monkeypatch):
    from frontdoors.demo.story import look_around

    monkeypatch.chdir(ROOT)
    lines = look_around(tmp_path / "demo dir")
    assert len(lines) == 4 and all(f"--data-dir '{tmp_path / 'demo dir'}'" in line for line in lines)
    program = shlex.split(lines[0])[0]
    assert shutil.which(program) or (ROOT / program).exists(), program
    help_text = subprocess.run([*shlex.split(lines[0])[:-3], "--help"], capture_output=True, text=True, cwd=ROOT)
    assert help_text.returncode == 0 and "modelwatch" in help_text.stdout


# --- 1. the core CLI without the [server] extra ------------------------------------------------

def test_core_commands_import_without_the_server_extra(tmp_path):
    # A meta-path hook makes the [server]/[postgres]/[mlflow] packages unimportable, as in a core-only install.
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'fastapi', 'uvicorn', 'flower', 'prometheus_client', 'psycopg', 'mlflow',"
        " 'starlette'}:\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from frontdoors.cli import main\n"
        "import workers.app, tasks.check, monitor.client\n"
        "main(['--data-dir', sys.argv[1], 'migrate'])\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "schema upgraded" in result.stdout


def test_runtime_dependencies_are_ranges_and_the_exact_pins_live_in_constraints():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = project["dependencies"]
    assert not [d for d in core if "==" in d], "runtime dependencies must be ranges, not pins"
    assert any(d.startswith("celery[redis]") for d in core), "a plain install must be able to use Redis"
    assert {"redis", "postgres", "server", "mlflow"} <= set(project["optional-dependencies"])
    assert not [d for d in core if d.split("[")[0].split(">")[0].lower() in {"fastapi", "uvicorn", "flower", "psycopg"}]
    # every engine decodes JSON columns with it (monitor/db/jsoncolumns.py), so a plain install needs it
    assert any(d.startswith("orjson>=") for d in core), "orjson is a core dependency"
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    assert {"celery", "kombu", "redis", "packaging", "fastapi", "orjson"} <= {name.lower() for name in pins}
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    assert "constraints.txt" in (ROOT / "Dockerfile").read_text()
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert "constraints.txt" not in ignored
