"""``modelwatch alerts`` (with ``ack``) and ``modelwatch silence add|list|expire``.

``modelwatch alerts`` lists alerts with how each channel was told (a channel that kept failing
shows ``failed``); ``ack`` and the silence commands are audited under the CLI actor
(``MODELWATCH_ACTOR`` or the OS user).
"""

from __future__ import annotations

import click

from frontdoors.cli.common import database_url, session_scope
from frontdoors.cli.output import emit_json, table, when


def register(main: click.Group) -> None:
    main.add_command(alerts)
    main.add_command(silence)


def _notified(row: dict) -> str:
    """``webhook firing:sent, slack firing:failed`` - the latest word per channel."""
    latest: dict[str, str] = {}
    for n in row["notifications"]:
        latest[n["channel"]] = f"{n['channel'].split(':')[-1]} {n['transition']}:{n['state']}"
    return ", ".join(latest.values()) or "-"


@click.group(invoke_without_command=True)
@click.option("--open", "open_only", is_flag=True, help="Only open alerts (firing or acknowledged).")
@click.option("--model", "model_name", default=None)
@click.option("--json", "as_json", is_flag=True, help="Also lists every delivery attempt.")
@click.pass_context
def alerts(ctx: click.Context, open_only: bool, model_name: str | None, as_json: bool) -> None:
    """Alerts with their state and how each channel was told; `alerts ack ID` acknowledges one."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.alerts.ack import to_json
    from monitor.alerts.lifecycle import list_alerts
    from monitor.detect.frames import segment_label  # the detectors' stack: not at CLI start-up
    from monitor.store import models as store

    with session_scope(database_url()) as session:
        model_id = store.get_model(session, model_name).id if model_name else None
        rows = [to_json(session, a, with_attempts=as_json) for a in list_alerts(session, model_id, open_only)]
    if as_json:
        emit_json("alerts", alerts=rows)
        return
    table(["id", "model", "rule", "state", "severity", "since", "notified", "message"],
          [[r["id"], r["model"], r["rule"] + (f" [{segment_label(r['segment'])}]" if r["segment"] else ""),
            r["state"] + (f" by {r['acknowledged_by']}" if r["acknowledged_by"] else ""), r["severity"],
            when(_parse(r["first_seen"])), _notified(r), r["message"]] for r in rows],
          empty="no alerts")


def _parse(value: str | None):
    import datetime as dt

    return dt.datetime.fromisoformat(value) if value else None


@alerts.command("ack")
@click.argument("alert_id", type=int)
@click.option("--reason", default="", help="Why (kept in the audit trail).")
def alerts_ack(alert_id: int, reason: str) -> None:
    """Acknowledge an open alert: it stays open, repeat notifications stop."""
    from monitor import audit
    from monitor.alerts.ack import acknowledge

    with session_scope(database_url()) as session:
        alert = acknowledge(session, alert_id, actor=audit.cli_actor(), reason=reason)
        click.echo(f"alert {alert.id} ({alert.rule}) acknowledged by {alert.acknowledged_by}")


@click.group()
def silence() -> None:
    """Silences: hold notifications of matching alerts until an end time."""


@silence.command("add")
@click.option("--model", default=None, help="Match this model's alerts.")
@click.option("--rule", default=None, help="Match this rule (or every rule of this finding kind).")
@click.option("--severity", type=click.Choice(["warning", "critical"]), default=None)
@click.option("--for", "duration", default=None, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--until", default=None, help="End time, ISO-8601 with a zone, e.g. 2026-11-24T08:00:00Z.")
@click.option("--comment", required=True, help="Why (kept with the silence and in the audit trail).")
@click.option("--json", "as_json", is_flag=True)
def silence_add(model: str | None, rule: str | None, severity: str | None, duration: str | None, until: str | None,
                comment: str, as_json: bool) -> None:
    """Add a silence (at least one of --model/--rule/--severity; one of --for/--until)."""
    from monitor import audit
    from monitor.alerts import silences

    if until is not None and until.endswith("Z"):
        until = until[:-1] + "+00:00"
    with session_scope(database_url()) as session:
        created = silences.to_json(silences.create(session, actor=audit.cli_actor(), comment=comment, model=model,
                                                   rule=rule, severity=severity, duration=duration, until=until))
    if as_json:
        emit_json("silence-created", silence=created)
    else:
        click.echo(f"silence {created['id']} holds {_matchers(created)} until {created['ends_at']}")


def _matchers(row: dict) -> str:
    return " ".join(f"{k}={row[k]}" for k in ("model", "rule", "severity") if row[k]) or "everything"


@silence.command("list")
@click.option("--all", "include_expired", is_flag=True, help="Include expired silences.")
@click.option("--json", "as_json", is_flag=True)
def silence_list(include_expired: bool, as_json: bool) -> None:
    """Active silences (with --all, expired ones too)."""
    from monitor.alerts import silences

    with session_scope(database_url()) as session:
        rows = [silences.to_json(s) for s in silences.list_silences(session, include_expired)]
    if as_json:
        emit_json("silences", silences=rows)
        return
    table(["id", "matches", "ends", "by", "comment"],
          [[r["id"], _matchers(r), when(_parse(r["ends_at"])), r["created_by"], r["comment"]] for r in rows],
          empty="no silences")


@silence.command("expire")
@click.argument("silence_id", type=int)
@click.option("--reason", default="", help="Why (kept in the audit trail).")
def silence_expire(silence_id: int, reason: str) -> None:
    """End a silence now; the next check notifies the alerts it held."""
    from monitor import audit
    from monitor.alerts import silences

    with session_scope(database_url()) as session:
        silences.expire(session, silence_id, actor=audit.cli_actor(), reason=reason)
    click.echo(f"silence {silence_id} expired")
