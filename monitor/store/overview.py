"""The fleet at a glance, for ``/metrics``: counts and latest values across every model.

Prometheus scrapes these on every request, so each is one grouped query whatever the history
holds. They return plain rows; naming them as metric families is the front door's job
(``frontdoors/api/metrics*.py``). States are passed in (``OPEN_STATES`` of alerts, ``PENDING``
of recovery actions) so that the store does not import the domain packages that define them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.db.schema import (Alert, CheckRun, DeliveryAttempt, KpiValue, Model, ModelVersion, Notification,
                               RecoveryAction)


def model_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Model.id, Model.name)).all())


def latest_kpis(session: Session) -> list[KpiValue]:
    """Each model's latest whole-window (unsegmented) value of each KPI; None values skipped.

    Two runs of one window can both store a KPI (a rerun): the first row found is kept.
    """
    latest = (select(KpiValue.model_id, KpiValue.name, func.max(KpiValue.window_end).label("end"))
              .where(KpiValue.segment == "").group_by(KpiValue.model_id, KpiValue.name).subquery())
    rows = session.execute(select(KpiValue).join(latest, (KpiValue.model_id == latest.c.model_id)
                                                 & (KpiValue.name == latest.c.name)
                                                 & (KpiValue.window_end == latest.c.end))
                           .where(KpiValue.segment == "")).scalars()
    seen, values = set(), []
    for value in rows:
        key = (value.model_id, value.name)
        if value.value is None or key in seen:
            continue
        seen.add(key)
        values.append(value)
    return values


def alert_counts(session: Session, states: Iterable[str]) -> list[tuple[int, str, int]]:
    """``(model_id, severity, count)`` of alerts in ``states``."""
    return [tuple(row) for row in session.execute(
        select(Alert.model_id, Alert.severity, func.count()).where(Alert.state.in_(list(states)))
        .group_by(Alert.model_id, Alert.severity))]


def action_counts(session: Session, states: Iterable[str]) -> list[tuple[int, str, str, int]]:
    """``(model_id, kind, state, count)`` of recovery actions in ``states``."""
    return [tuple(row) for row in session.execute(
        select(RecoveryAction.model_id, RecoveryAction.kind, RecoveryAction.state, func.count())
        .where(RecoveryAction.state.in_(list(states)))
        .group_by(RecoveryAction.model_id, RecoveryAction.kind, RecoveryAction.state))]


def run_counts(session: Session) -> list[tuple[int, str, int]]:
    """``(model_id, status, count)`` of check runs."""
    return [tuple(row) for row in session.execute(
        select(CheckRun.model_id, CheckRun.status, func.count()).group_by(CheckRun.model_id, CheckRun.status))]


def last_successful_checks(session: Session) -> dict[int, dt.datetime]:
    """model_id -> when its newest ``succeeded`` check run finished (models without one are absent)."""
    return dict(session.execute(select(CheckRun.model_id, func.max(CheckRun.finished_at))
                                .where(CheckRun.status == "succeeded").group_by(CheckRun.model_id)).all())


def check_intervals(session: Session) -> dict[int, float]:
    """model_id -> seconds between its scheduled checks, for active models only (paused ones are not late)."""
    return dict(session.execute(select(Model.id, Model.every_seconds).where(Model.status == "active")).all())


def serving_versions(session: Session) -> list[tuple[int, str, dt.datetime]]:
    """``(model_id, version, since)`` of each serving version; ``since`` is when it was promoted
    (or registered, for a version registered as serving)."""
    return [(model_id, version, promoted or created) for model_id, version, promoted, created in session.execute(
        select(ModelVersion.model_id, ModelVersion.version, ModelVersion.promoted_at, ModelVersion.created_at)
        .where(ModelVersion.serving.is_(True)))]


def delivery_outcome_counts(session: Session) -> list[tuple[int, str, str, int]]:
    """``(model_id, channel, outcome, count)`` of finished delivery attempts (``sending`` is in flight)."""
    return [tuple(row) for row in session.execute(
        select(Alert.model_id, Notification.channel, DeliveryAttempt.outcome, func.count())
        .join(Notification, DeliveryAttempt.notification_id == Notification.id)
        .join(Alert, Notification.alert_id == Alert.id)
        .where(DeliveryAttempt.outcome != "sending")
        .group_by(Alert.model_id, Notification.channel, DeliveryAttempt.outcome))]


def failed_run_counts(session: Session) -> dict[int, int]:
    """model_id -> how many of its check runs ended ``failed`` (models without one are absent)."""
    return dict(session.execute(select(CheckRun.model_id, func.count())
                                .where(CheckRun.status == "failed").group_by(CheckRun.model_id)).all())


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def duration_seconds(session: Session):
    """``finished_at - created_at`` in seconds as a SQL expression (both are naive UTC columns)."""
    if _is_postgres(session):
        return func.extract("epoch", CheckRun.finished_at - CheckRun.created_at)
    return (func.julianday(CheckRun.finished_at) - func.julianday(CheckRun.created_at)) * 86400.0


def run_duration_histogram(session: Session, bounds: Sequence[float]) -> list[tuple[int, int, float, list[int]]]:
    """``(model_id, finished runs, sum of seconds, [runs at most bound seconds, per bound])`` per
    model, bucketed inside the database (one grouped query) so a scrape stays cheap."""
    seconds = func.greatest(duration_seconds(session), 0.0) if _is_postgres(session) \
        else func.max(duration_seconds(session), 0.0)
    counts = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
    statement = (select(CheckRun.model_id, func.count(), func.sum(seconds), *counts)
                 .where(CheckRun.finished_at.is_not(None)).group_by(CheckRun.model_id))
    return [(model_id, int(total), float(seconds_sum or 0.0), [int(c or 0) for c in cumulative])
            for model_id, total, seconds_sum, *cumulative in session.execute(statement)]


def newest_runs(session: Session, model_id: int, *, status: str | None = None, trigger: str | None = None,
                limit: int = 5) -> list[CheckRun]:
    """The model's newest check runs of one status and trigger (either optional), newest first:
    ``/metrics`` looks for the latest with drift results, the demo for a healthy scheduled one."""
    statement = select(CheckRun).where(CheckRun.model_id == model_id)
    if status is not None:
        statement = statement.where(CheckRun.status == status)
    if trigger is not None:
        statement = statement.where(CheckRun.trigger == trigger)
    return list(session.scalars(statement.order_by(CheckRun.created_at.desc()).limit(limit)))
