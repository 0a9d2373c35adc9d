"""``modelwatch``: register models, ingest logs, force checks, and read what the service found.

Start-up is paid by every command, ``--help`` included: this module and the command modules import
only click and small modules at the top; settings (pydantic), the database (SQLAlchemy), the JSON
schemas, tables (rich) and each command's own stack are imported inside the commands that use them
(``tests/unit/test_import_cost.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from frontdoors.cli.common import (add_data_dir_option, data_dir_option, database_url, get_settings, session_scope,
                                   state_line)
from frontdoors.cli.exitcodes import FAIL_ON, RUN_FAILED, check_exit_code, ingest_exit_code
from frontdoors.cli.output import emit_json, table, when
from monitor.errors import ModelwatchError


class Group(click.Group):
    """Turns modelwatch's own errors into one clear line and exit code 2, not a traceback, and
    gives every command ``--data-dir``."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        add_data_dir_option(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ModelwatchError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=Group, params=[data_dir_option()])
@click.version_option(package_name="modelwatch")
def main() -> None:
    """modelwatch: watch ML models in production, alert, and recover."""


@main.command()
def migrate() -> None:
    """Bring the database schema to the newest version."""
    from monitor.db.migrate import upgrade  # alembic: not imported by every command

    url = get_settings().effective_database_url
    ran = upgrade(url)
    click.echo(state_line())
    click.echo("schema upgraded" if ran else "schema already up to date")


@main.command()
@click.option("-f", "--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="YAML model spec file.")
@click.option("--version", "version", default="1", show_default=True,
              help="Version to register for a model that has none yet.")
def apply(path: Path, version: str) -> None:
    """Register or update models from a spec file, with their reference data."""
    from monitor import outbound
    from monitor.errors import SpecError
    from monitor.reference import read_table
    from monitor.registry import builtin
    from monitor.spec import load_spec_file
    from monitor.store import models as store

    specs = load_spec_file(path)
    refused = [problem for spec in specs for problem in outbound.spec_problems(spec)]
    if refused:  # before anything is stored: a spec is applied whole or not at all
        raise SpecError(refused, str(path))
    references = {s.name: read_table(s.reference) for s in specs if s.reference}
    with session_scope(database_url(create=True)) as session:
        for spec in specs:
            model, created = store.upsert_model(session, spec)
            serving = store.serving_version(session, model.id)
            reference = references.get(spec.name)
            if serving is None:
                builtin.register(session, model, spec, version, reference=reference, serving=True)
                note = f"version {version} serving"
            elif reference is not None and store.reference_for(session, model.id, serving.version) is None:
                builtin.register(session, model, spec, serving.version, reference=reference)
                note = f"reference profile computed for version {serving.version}"
            else:
                note = f"version {serving.version} serving"
            rows = len(reference) if reference is not None else 0
            click.echo(f"{'registered' if created else 'updated'} {spec.name} ({spec.task.value}): "
                       f"{note}; reference rows: {rows}")


@main.command()
@click.argument("kind", type=click.Choice(["predictions", "labels", "interactions"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_name", required=True, help="The registered model the rows belong to.")
@click.option("--batch-size", default=50_000, show_default=True,
              help="Lines (rows) validated and written together; memory stays bounded by it.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON (docs/schemas/ingest.schema.json).")
@click.option("--max-quarantined", "max_quarantined", type=click.FloatRange(0, 100), default=100.0,
              show_default=True, help="Exit 1 when more than this percent of the rows are quarantined "
                                      "(a file whose rows are all quarantined always exits 1).")
def ingest(kind: str, path: Path, model_name: str, batch_size: int, as_json: bool, max_quarantined: float) -> None:
    """Load prediction logs, labels or user interactions from CSV, Parquet or JSON Lines.

    Bad rows are quarantined with their reason; the good rows of the same file are kept;
    rows the model already has count as duplicates (the same request id; for interactions the
    same request id, event and timestamp). Exit codes: docs/cli.md#exit-codes.
    """
    from tqdm import tqdm

    from monitor.ingest import count_rows, read_batches
    from monitor.ingest.prefetch import prefetched
    from monitor.store import logs, models as store

    url = database_url()
    with session_scope(url) as session:
        model = store.get_model(session, model_name)
        spec = store.spec_of(model)
        serving = store.serving_version(session, model.id)
        model_id, default_version = model.id, serving.version if serving else None
    counts = {"accepted": 0, "duplicates": 0, "quarantined": 0}
    reasons: list[str] = []
    quiet = as_json or not sys.stderr.isatty()
    total = None if quiet else count_rows(path)  # a pass over the file, only for the progress bar
    with tqdm(total=total, unit="rows", disable=quiet, file=sys.stderr) as bar:
        for batch in prefetched(read_batches(path, kind, spec, batch_size=batch_size)):
            with session_scope(url) as session:
                if kind == "interactions":
                    from monitor.store.interactions import insert_interactions  # imports the KPI stack

                    inserted = insert_interactions(session, model_id, batch.rows)
                    inserted = type(inserted)(inserted.accepted, inserted.duplicates + batch.duplicates)
                    logs.quarantine(session, model_id, kind, str(path), batch.rejected)
                else:  # counts repeats within the batch too
                    inserted = logs.save_batch(session, model_id, kind, batch, str(path), default_version)
            counts["quarantined"] += len(batch.rejected)
            counts["accepted"] += inserted.accepted
            counts["duplicates"] += inserted.duplicates
            reasons += [f"row {r.row_number}: {r.reason}" for r in batch.rejected[: max(0, 5 - len(reasons))]]
            bar.update(batch.table.num_rows + len(batch.rejected) + batch.duplicates)
    code = ingest_exit_code(counts["accepted"], counts["duplicates"], counts["quarantined"], max_quarantined)
    if as_json:
        emit_json("ingest", model=model_name, kind=kind, file=str(path), **counts, reasons=reasons,
                  exit_code=code)
    else:
        click.echo(f"{path}: {counts['accepted']} accepted, {counts['duplicates']} duplicate, "
                   f"{counts['quarantined']} quarantined")
        for reason in reasons:
            click.echo(f"  quarantined {reason}")
        if code:
            click.secho(f"error: {counts['quarantined']} of {sum(counts.values())} rows quarantined "
                        f"(allowed: {max_quarantined:g}%)", fg="red", err=True)
    sys.exit(code)


@main.command()
@click.argument("name")
@click.option("--wait/--no-wait", default=False, help="Wait for the chain to finish.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the run's summary).")
@click.option("--rerun", is_flag=True, help="Check again even if this window was checked.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait with --wait.")
@click.option("--fail-on", type=click.Choice(sorted(FAIL_ON)), default="firing", show_default=True,
              help="With --wait: exit 1 when the check's outcome is at this level or worse "
                   "(warning also counts not-enough-data, quality issues and no traffic).")
def check(name: str, wait: bool, as_json: bool, rerun: bool, timeout: float, fail_on: str) -> None:
    """Enqueue a check chain for model NAME now; with --wait, exit with its outcome.

    Exit codes (docs/cli.md#exit-codes): 0 healthy (below --fail-on), 1 findings at or above
    --fail-on, 2 usage or input error, 3 the run failed or did not finish within --timeout.
    """
    from monitor.check.runs import open_check
    from tasks.publish import launch

    url = database_url()
    with session_scope(url) as session:
        opened = open_check(session, name, trigger="manual", rerun=rerun)
    if opened.created:
        launch(opened.run_id, name, forced=True)
    if not wait:
        if as_json:
            emit_json("check-queued", run_id=opened.run_id, model=name, state=get_settings().state_location,
                      status="queued" if opened.created else "exists")
        else:
            click.echo(state_line())
            click.echo(f"check {opened.run_id} {'queued' if opened.created else 'already exists'} for {name}")
        return
    try:
        summary = _wait_for_run(url, opened.run_id, timeout)
    except TimeoutError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(RUN_FAILED)
    code = check_exit_code(summary["outcome"], fail_on)
    if as_json:
        emit_json("check", **summary, exit_code=code, state=get_settings().state_location)
    else:
        click.echo(state_line())
        _print_summary(summary)
    sys.exit(code)


def _wait_for_run(url: str, run_id: str, timeout: float) -> dict:
    from monitor.check.summary import build_summary
    from monitor.store import runs

    deadline = time.monotonic() + timeout
    while True:
        with session_scope(url) as session:
            run = runs.get_run(session, run_id)
            if run.status in ("succeeded", "failed"):
                return build_summary(session, run)
            status = run.status
        if time.monotonic() > deadline:
            hint = " Is a worker running (`modelwatch run`)?" if status == "pending" else ""
            raise TimeoutError(f"check {run_id} is still {status} after {timeout:.0f}s.{hint}")
        time.sleep(0.25)


def _print_summary(summary: dict) -> None:
    window = summary["window"]
    click.echo(f"check {summary['run_id']} of {summary['model']} v{summary['version']}: {summary['status']}"
               f" (window {window['start']} .. {window['end']}, {summary['counts'].get('rows')} rows,"
               f" {summary['counts'].get('labelled_rows')} labelled)")
    if summary.get("error"):
        click.secho(f"  error: {summary['error']}", fg="red")
    table(["kpi", "value", "baseline", "change"],
          [[k, _fmt(v["value"]), _fmt(v["baseline"]), _change(k, v)] for k, v in summary["kpis"].items()
           if v["value"] is not None or v["baseline"] is not None])  # no empty rows for unmeasured KPIs
    for finding in summary["findings"]:
        if finding["status"] == "firing":
            click.secho(f"  FIRING {finding['rule']}: {finding['message']}", fg="red")
    for alert in summary["alerts"]:
        click.echo(f"  alert #{alert['id']} {alert['rule']}: {alert['state']}")
    for action in summary["recovery_actions"]:
        click.echo(f"  recovery #{action['id']} {action['kind']}: {action['state']} (eta {action['eta']})")
    colour = {"healthy": "green", "firing": "red", "failed": "red"}.get(summary["outcome"], "yellow")
    click.secho(f"outcome: {summary['outcome']} ({summary['outcome_message']})", fg=colour)


def _change(kpi: str, entry: dict) -> str:
    """``+17.6%, worse`` coloured by the verdict (the last column, so colour codes cannot misalign it)."""
    from monitor.kpis.change import kpi_change  # scikit-learn: only for commands that show KPIs

    change = kpi_change(kpi, entry.get("value"), entry.get("baseline"))
    return "-" if change is None else click.style(change.text, fg=change.colour)


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/schemas/status.schema.json).")
def status(as_json: bool) -> None:
    """Each model with its serving version, last check, health, open alerts and pending actions."""
    from monitor.alerts.lifecycle import health_of, list_alerts
    from monitor.check import redrive
    from monitor.recovery.schedule import PENDING, list_actions
    from monitor.reports.service import SERVICE_KPIS, brief
    from monitor.store import models as store, operations, runs

    rows = []
    with session_scope(database_url()) as session:
        redriven = redrive.counts(session)
        for model in store.list_models(session):
            serving = store.serving_version(session, model.id)
            last = runs.latest_run(session, model.id)
            open_alerts = list_alerts(session, model.id, open_only=True)
            pending = [a for a in list_actions(session, model.id) if a.state in PENDING]
            rows.append({
                "model": model.name, "task": model.task, "serving_version": serving.version if serving else None,
                "last_check": last.created_at if last else None, "last_status": last.status if last else None,
                "health": health_of(last, open_alerts),
                "open_alerts": [a.rule for a in open_alerts],
                "pending_actions": [f"{a.kind}#{a.id}" for a in pending],
                "service": operations.latest_kpis(session, model.id, tuple(SERVICE_KPIS)),
                "last_run_redrives": redrive.run_redrives(last),
                "redrives": sum(n for (model_id, _), n in redriven.items() if model_id == model.id),
            })
    if as_json:
        emit_json("status", state=get_settings().state_location, models=rows)
        return
    click.echo(state_line())
    table(["model", "task", "serving", "last check", "status", "health", "open alerts", "pending recovery", "service"],
          [[r["model"], r["task"], r["serving_version"], when(r["last_check"]), _with_redrives(r), r["health"],
            ", ".join(r["open_alerts"]) or "-", ", ".join(r["pending_actions"]) or "-", brief(r["service"])]
           for r in rows],
          empty="no models registered; start with `modelwatch apply -f models.yaml`")


def _with_redrives(row: dict) -> str | None:
    """The last run's status, with how often the sweeper re-drove it (``running, re-driven 2x``)."""
    count = row["last_run_redrives"]
    return f"{row['last_status']}, re-driven {count}x" if count else row["last_status"]


@main.command()
@click.argument("name")
@click.option("--run", "run_id", default=None, help="A specific run (default: the latest report).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Where to write the HTML (default: the data directory's reports/).")
def report(name: str, run_id: str | None, output: Path | None) -> None:
    """Write a model's latest (or a given run's) report to a file and print its path."""
    import json

    from monitor.errors import NotFound
    from monitor.reports import report_page
    from monitor.store import models as store, runs

    with session_scope(database_url()) as session:
        model = store.get_model(session, name)
        saved = runs.report_of(session, run_id) if run_id else runs.latest_report(session, model.id)
        if saved is None:
            raise NotFound(f"model {name!r} has no report yet; run `modelwatch check {name} --wait`")
        html, summary, rid = report_page(saved), saved.summary, saved.run_id
    path = output or get_settings().reports_dir / f"{name}-{rid}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html)
    path.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=str))
    click.echo(str(path.resolve()))


from frontdoors.cli import agent, alerting, audit, flower, processes, recovery  # noqa: E402  (register their commands)

for module in (agent, alerting, audit, flower, processes, recovery):
    module.register(main)


if __name__ == "__main__":
    main()
