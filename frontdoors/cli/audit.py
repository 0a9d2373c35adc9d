"""``modelwatch audit``: who decided what, when and why."""

from __future__ import annotations

import click

from frontdoors.cli.common import database_url, session_scope
from frontdoors.cli.output import emit_json, table, when


def register(main: click.Group) -> None:
    main.add_command(audit)


@click.command()
@click.option("--model", "model_name", default=None, help="Only this model's decisions.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
def audit(model_name: str | None, limit: int, as_json: bool) -> None:
    """Every acknowledgement, silence, approval, cancellation, promotion and rollback, newest first."""
    from monitor import audit as trail
    from monitor.store import models as store

    with session_scope(database_url()) as session:
        model_id = store.get_model(session, model_name).id if model_name else None
        names = {m.id: m.name for m in store.list_models(session)}
        found = trail.events(session, model_id, limit)
        rows = [{**trail.to_json(e), "model": names.get(e.model_id)} for e in found]
        moments = [e.at for e in found]
    if as_json:
        emit_json("audit", events=rows)
        return
    table(["when", "who", "action", "model", "subject", "why"],
          [[when(at), r["actor"], r["action"], r["model"] or "-", r["subject"], r["reason"] or "-"] for r, at in zip(rows, moments)],
          empty="no decisions recorded yet")
