"""``modelwatch recovery``: the recovery schedule, and a person's say over it."""

from __future__ import annotations

import click

from frontdoors.cli.common import database_url, session_scope
from frontdoors.cli.output import emit_json, table, when
from monitor.errors import ModelwatchError


def register(main: click.Group) -> None:
    main.add_command(recovery)


@click.group()
def recovery() -> None:
    """Scheduled recovery actions: list them, approve or cancel one."""


def _when(iso: str | None) -> str:
    import datetime as dt

    return when(dt.datetime.fromisoformat(iso) if iso else None)


def _outcome(row: dict) -> str:
    text = (row["result"] or {}).get("summary") or row["error"] or "-"
    if row["state"] == "pending_approval":
        text = f"waits for approval (expires {_when(row['expires_at'])}): {row['approval_reason']}"
    return text


@recovery.command("list")
@click.option("--model", "model_name", default=None)
@click.option("--json", "as_json", is_flag=True)
def recovery_list(model_name: str | None, as_json: bool) -> None:
    """Recovery actions with their state, ETA, outcome and verification."""
    from monitor.recovery.schedule import list_actions, to_json
    from monitor.store import models as store

    with session_scope(database_url()) as session:
        model_id = store.get_model(session, model_name).id if model_name else None
        names = {m.id: m.name for m in store.list_models(session)}
        rows = [to_json(a, names.get(a.model_id)) for a in list_actions(session, model_id)]
    if as_json:
        emit_json("recovery", actions=rows)
        return
    table(["id", "model", "kind", "rule", "state", "eta", "runs", "verified", "outcome"],
          [[r["id"], r["model"], r["kind"], r["rule"] or "-", r["state"], _when(r["eta"]), r["executions"],
            r["verification_state"] or "-", _outcome(r)] for r in rows],
          empty="no recovery actions")


@recovery.command("cancel")
@click.argument("action_id", type=int)
@click.option("--reason", default="cancelled from the command line")
def recovery_cancel(action_id: int, reason: str) -> None:
    """Cancel a recovery action that waits (for approval or its ETA) before it runs."""
    from monitor import audit
    from monitor.db.schema import RecoveryAction
    from monitor.errors import NotFound
    from monitor.recovery.schedule import cancel

    with session_scope(database_url()) as session:
        action = session.get(RecoveryAction, action_id)
        if action is None:
            raise NotFound(f"no recovery action {action_id}")
        if not cancel(session, action_id, reason):
            raise ModelwatchError(f"recovery action {action_id} is {action.state}; only scheduled actions "
                                  "or ones pending approval can be cancelled")
        audit.record(session, actor=audit.cli_actor(), action="cancel", subject=f"recovery:{action_id}",
                     reason=reason, model_id=action.model_id, details={"kind": action.kind})
        task_id = action.celery_task_id
    if task_id:
        from tasks.publish import revoke

        revoke(task_id)
    click.echo(f"cancelled recovery action {action_id}")


@recovery.command("approve")
@click.argument("action_id", type=int)
@click.option("--reason", default="", help="Why (recorded in the audit trail).")
def recovery_approve(action_id: int, reason: str) -> None:
    """Approve a recovery action that waits for approval; it then runs at its ETA (or now)."""
    from monitor import audit
    from monitor.recovery.approval import approve

    with session_scope(database_url()) as session:
        approved = approve(session, action_id, actor=audit.cli_actor(), reason=reason)
    from tasks.publish import send_approved

    if send_approved(approved.action_id, approved.eta) is None:
        click.echo(f"approved recovery action {action_id}; the broker is unreachable, the sweeper will send it")
        return
    click.echo(f"approved recovery action {action_id}; it runs at {when(approved.eta)}")
