"""``modelwatch alerts``: what fired, what resolved, and how each channel was told."""

from __future__ import annotations

import click

from monitor.cli.common import database_url
from monitor.cli.output import emit_json, table, when
from monitor.db.engine import session_scope


def register(main: click.Group) -> None:
    main.add_command(alerts)


@click.command()
@click.option("--open", "open_only", is_flag=True, help="Only alerts still firing.")
@click.option("--model", "model_name", default=None)
@click.option("--json", "as_json", is_flag=True)
def alerts(open_only: bool, model_name: str | None, as_json: bool) -> None:
    """Alerts with their state."""
    from monitor.alerts.delivery import notifications_of_alert
    from monitor.alerts.lifecycle import list_alerts
    from monitor.store import models as store

    with session_scope(database_url()) as session:
        model_id = store.get_model(session, model_name).id if model_name else None
        names = {m.id: m.name for m in store.list_models(session)}
        rows = []
        for a in list_alerts(session, model_id, open_only):
            deliveries = notifications_of_alert(session, a.id)
            rows.append({"id": a.id, "model": names.get(a.model_id), "rule": a.rule, "state": a.state,
                         "severity": a.severity, "message": a.message, "first_seen": a.first_seen,
                         "resolved_at": a.resolved_at,
                         "notifications": [{"channel": n.channel, "transition": n.transition, "state": n.state,
                                            "attempts": n.attempts, "error": n.last_error} for n in deliveries]})
    if as_json:
        emit_json(rows)
        return
    table(["id", "model", "rule", "state", "severity", "since", "notified", "message"],
          [[r["id"], r["model"], r["rule"], r["state"], r["severity"], when(r["first_seen"]),
            ", ".join(f"{n['channel'].split(':')[-1]} {n['transition']}:{n['state']}" for n in r["notifications"]) or "-", r["message"]]
           for r in rows], empty="no alerts")
