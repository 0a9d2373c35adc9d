"""Turn a run's rule evaluations into alert state changes.

An alert is one *episode* of a rule misbehaving for a model: it starts ``firing`` on the first
firing evaluation, stays one alert while the rule keeps firing, may be ``acknowledged`` by a
person (still open: it stops repeat notifications only), and ``resolved`` after
``resolve_after`` clean checks in a row (hysteresis, per rule in the spec's ``alerting`` block):
a metric hovering around its threshold keeps one alert open instead of flapping. A firing check
resets the count.

Which channels hear about a change is ``monitor.alerts.notify``; this module only decides states.
Runs older than the alert's last run are ignored, so a slow stale run cannot resolve an alert a
newer run raised. A run is applied once (``alerts_applied``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import events
from monitor.alerts import notify
from monitor.alerts.policy import OPEN_STATES
from monitor.db.schema import Alert, CheckRun, Finding, Model, Notification, utcnow
from monitor.spec import ModelSpec
from monitor.store.common import begin_write, for_update

#: States of an open alert: at most one per (model, rule, segment) (``uq_alerts_open``).


@dataclass
class AlertChanges:
    """What applying a run changed. ``applied`` is False when the run had been applied before (no
    change now); when True, ``notifications`` are all the run's pending notifications. Two values
    compare by their changes only."""

    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)
    applied: bool = field(default=False, compare=False)


def _open_alerts(session: Session, model_id: int) -> dict[tuple[str, str], Alert]:
    """The model's open alerts by (rule, segment), locked, in one query (not one per finding)."""
    statement = select(Alert).where(Alert.model_id == model_id, Alert.state.in_(OPEN_STATES))
    return {(alert.rule, alert.segment): alert for alert in session.scalars(for_update(statement, session))}


def _newest_windows(session: Session, run: CheckRun, findings: list[Finding]) -> dict[tuple[str, str], dt.datetime]:
    """The newest ``last_window_end`` of any alert (open or not) per (rule, segment) of the firing
    ``findings``, in one query: did a newer run already decide a rule (e.g. resolve it)? Then a late
    old run must not re-fire it. The alerts this run inserts end at its own window, so they never
    change the answer for the rest of the run."""
    rules = sorted({f.rule for f in findings if f.status == "firing"})
    rows = session.execute(select(Alert.rule, Alert.segment, func.max(Alert.last_window_end))
                           .where(Alert.model_id == run.model_id, Alert.rule.in_(rules))
                           .group_by(Alert.rule, Alert.segment))
    return {(rule, segment): newest for rule, segment, newest in rows}


def apply_findings(session: Session, run: CheckRun, spec: ModelSpec, findings: list[Finding],
                   report_url: str) -> AlertChanges:
    """Apply one run's findings to the model's alerts, then plan the run's grouped notifications;
    exactly once per run."""
    changes = AlertChanges()
    if run.alerts_applied:
        return changes
    # Two runs of one model (consecutive windows on two workers) may apply at once: the FOR UPDATE
    # in _open_alert locks no row while the alert does not exist yet, so both would insert it and
    # one would fail on uq_alerts_open. Locking the model row makes them take turns (SQLite has no
    # row locks: there the database's write lock does).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(for_update(select(Model.id).where(Model.id == run.model_id), session))
    else:
        # SQLite: the run was read before this transaction took the write lock, so another copy of
        # the stage may have applied it meanwhile (PostgreSQL's lock_run holds the run's row instead)
        begin_write(session)
        if session.scalar(select(CheckRun.alerts_applied).where(CheckRun.id == run.id)):
            return changes
    now = utcnow()
    open_alerts = _open_alerts(session, run.model_id)
    findings = [*findings, *_expand_wildcards(run, findings, open_alerts)]
    newest = None  # read at the first firing finding without an open alert
    for finding in findings:
        if finding.status not in ("firing", "ok") or finding.segment == "*":
            continue
        alert = open_alerts.get((finding.rule, finding.segment))
        if alert is not None and alert.last_window_end > run.window_end:
            continue
        severity = spec.alerting.severity_for(finding.rule, finding.kind, finding.severity)
        if finding.status == "firing":
            if alert is None:
                newest = _newest_windows(session, run, findings) if newest is None else newest
                decided = newest.get((finding.rule, finding.segment))
                if decided is not None and decided > run.window_end:
                    continue
                alert = Alert(model_id=run.model_id, rule=finding.rule, kind=finding.kind,
                              segment=finding.segment, state="firing", severity=severity,
                              message=finding.message, value=finding.value, baseline=finding.baseline,
                              clean_checks=0, first_run_id=run.id, last_run_id=run.id,
                              last_window_end=run.window_end, first_seen=now, last_seen=now)
                session.add(alert)
                session.flush()
                open_alerts[(alert.rule, alert.segment)] = alert
                changes.fired.append(alert.id)
                events.alert_event(session, "alert.fired", alert)
            else:
                alert.message, alert.value, alert.severity = finding.message, finding.value, severity
                alert.clean_checks, alert.last_seen = 0, now
                alert.last_run_id, alert.last_window_end = run.id, run.window_end
        elif alert is not None:
            alert.clean_checks += 1
            alert.last_run_id, alert.last_window_end = run.id, run.window_end
            if alert.clean_checks >= spec.alerting.resolve_after_for(alert.rule, alert.kind, spec.rules.resolve_after):
                alert.state, alert.resolved_at = "resolved", now
                alert.message = f"resolved: {finding.message}"
                alert.value = finding.value
                session.flush()
                changes.resolved.append(alert.id)
                events.alert_event(session, "alert.resolved", alert)
    session.flush()
    # the alerts read (and locked) above, opened and resolved here: the plan does not read them again
    changes.notifications = notify.plan(session, run, spec, changes.resolved, report_url,
                                        alerts=list(open_alerts.values()))
    run.alerts_applied = True  # written with the stage's own update of the run, in this transaction
    changes.applied = True
    return changes


def _expand_wildcards(run: CheckRun, findings: list[Finding], open_alerts: dict[tuple[str, str], Alert]
                      ) -> list[Finding]:
    """An ``ok`` finding with segment ``*`` clears every open alert of its rule that this run did
    not find again: a data-quality check that found nothing wrong resolves its old issues.
    ``open_alerts`` are the model's open alerts, as read (and locked) for this run."""
    wildcard = {f.rule: f for f in findings if f.segment == "*" and f.status == "ok"}
    if not wildcard:
        return []
    seen = {(f.rule, f.segment) for f in findings}
    return [Finding(run_id=run.id, model_id=run.model_id, rule=a.rule, kind=a.kind, segment=a.segment,
                    status="ok", severity=a.severity, metric=wildcard[a.rule].metric, value=None,
                    baseline=None, threshold=None, message=f"{a.segment}: {wildcard[a.rule].message}",
                    details={})
            for a in sorted(open_alerts.values(), key=lambda a: a.id)
            if a.rule in wildcard and (a.rule, a.segment) not in seen]


def pending_notifications(session: Session, run_id: str) -> list[int]:
    """Notifications of a run not delivered yet (a redelivered stage re-enqueues these)."""
    return list(session.scalars(
        select(Notification.id).where(Notification.run_id == run_id, Notification.state == "pending")
    ))


def alerts_of_run(session: Session, run: CheckRun) -> list[Alert]:
    """Alerts this run raised, resolved or kept open."""
    return list(session.scalars(
        select(Alert).where(Alert.model_id == run.model_id,
                            (Alert.first_run_id == run.id) | (Alert.last_run_id == run.id))
        .order_by(Alert.id)
    ))


def list_alerts(session: Session, model_id: int | None = None, open_only: bool = False,
                limit: int = 200) -> list[Alert]:
    statement = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if model_id is not None:
        statement = statement.where(Alert.model_id == model_id)
    if open_only:
        statement = statement.where(Alert.state.in_(OPEN_STATES))
    return list(session.scalars(statement))


def health_of(last_run: CheckRun | None, open_alerts: list[Alert]) -> str:
    """One word for a model, the same in ``modelwatch status`` and the dashboard: ``critical`` (an
    open critical alert), ``alerting``, ``failed`` (its last check failed), ``ok`` or ``unchecked``."""
    if any(a.severity == "critical" for a in open_alerts):
        return "critical"
    if open_alerts:
        return "alerting"
    if last_run is None:
        return "unchecked"
    return "failed" if last_run.status == "failed" else "ok"
