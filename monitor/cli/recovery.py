"""``modelwatch recovery``: the recovery schedule, and a person's say over it."""

from __future__ import annotations

import click

from monitor.cli.common import database_url
from monitor.cli.output import emit_json, table, when
from monitor.db.engine import session_scope
from monitor.errors import ModelwatchError
from monitor import audit


def register(main: click.Group) -> None:
    main.add_command(recovery)


@click.group()
def recovery() -> None:
    """Scheduled recovery actions."""


@recovery.command("list")
@click.option("--model", "model_name", default=None)
@click.option("--json", "as_json", is_flag=True)
def recovery_list(model_name: str | None, as_json: bool) -> None:
    """Recovery actions with their state and time."""
    from monitor.recovery.schedule import list_actions
    from monitor.store import models as store

    with session_scope(database_url()) as session:
        model_id = store.get_model(session, model_name).id if model_name else None
        names = {m.id: m.name for m in store.list_models(session)}
        rows = [{"id": a.id, "model": names.get(a.model_id), "kind": a.kind, "state": a.state, "eta": a.eta,
                 "started_at": a.started_at, "finished_at": a.finished_at, "executions": a.executions,
                 "reason": a.reason, "result": a.result, "error": a.error}
                for a in list_actions(session, model_id)]
    if as_json:
        emit_json(rows)
        return
    table(["id", "model", "kind", "state", "eta", "runs", "outcome"],
          [[r["id"], r["model"], r["kind"], r["state"], when(r["eta"]), r["executions"],
            (r["result"] or {}).get("summary") or r["error"] or "-"] for r in rows],
          empty="no recovery actions")


@recovery.command("cancel")
@click.argument("action_id", type=int)
@click.option("--reason", default="cancelled from the command line")
def recovery_cancel(action_id: int, reason: str) -> None:
    """Cancel a scheduled recovery action before it runs."""
    from monitor.db.schema import RecoveryAction
    from monitor.errors import NotFound
    from monitor.recovery.schedule import cancel

    with session_scope(database_url()) as session:
        action = session.get(RecoveryAction, action_id)
        if action is None:
            raise NotFound(f"no recovery action {action_id}")
        if not cancel(session, action_id, reason):
            raise ModelwatchError(f"recovery action {action_id} is {action.state}; only scheduled actions can be cancelled")
        audit.record(session, actor=audit.cli_actor(), action="cancel", subject=f"recovery:{action_id}",
                     reason=reason, model_id=action.model_id, details={"kind": action.kind})
        task_id = action.celery_task_id
    if task_id:
        from workers.app import app

        app.control.revoke(task_id)
    click.echo(f"cancelled recovery action {action_id}")
