"""What the service found over time, for readers (API, dashboard): KPI series, findings, reports.

Every query is bounded by a ``limit`` and ordered so that "the latest N" is what a reader gets.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.schema import CheckRun, Finding, KpiValue, ReferenceProfile, Report


def kpi_names(session: Session, model_id: int, segment: str = "") -> list[str]:
    """Every KPI name the model has a value of (for a segment), sorted."""
    return list(session.scalars(
        select(KpiValue.name).where(KpiValue.model_id == model_id, KpiValue.segment == segment)
        .distinct().order_by(KpiValue.name)
    ))


def kpi_series(session: Session, model_id: int, name: str, segment: str = "", limit: int = 100) -> list[KpiValue]:
    """The latest ``limit`` values of one KPI, oldest first (one per check run)."""
    rows = session.scalars(
        select(KpiValue).where(KpiValue.model_id == model_id, KpiValue.name == name, KpiValue.segment == segment)
        .order_by(KpiValue.window_end.desc(), KpiValue.id.desc()).limit(limit)
    ).all()
    return list(reversed(rows))


def model_findings(session: Session, model_id: int, limit: int = 100, status: str | None = None) -> list[Finding]:
    """A model's latest findings across runs, newest first."""
    statement = select(Finding).where(Finding.model_id == model_id)
    if status is not None:
        statement = statement.where(Finding.status == status)
    return list(session.scalars(statement.order_by(Finding.id.desc()).limit(limit)))


def run_windows(session: Session, run_ids: set[str]) -> dict[str, CheckRun]:
    """The runs behind some findings or reports (their windows), by id."""
    if not run_ids:
        return {}
    return {r.id: r for r in session.scalars(select(CheckRun).where(CheckRun.id.in_(run_ids)))}


def reports_of(session: Session, model_id: int, limit: int = 50) -> list[Report]:
    """A model's latest reports, newest first (the HTML column stays unloaded)."""
    return list(session.scalars(
        select(Report).where(Report.model_id == model_id).order_by(Report.id.desc()).limit(limit)
    ))


def reference_rows(session: Session, version_ids: list[int]) -> dict[int, int]:
    """Rows of each version's reference profile, by model_version id (absent: no profile)."""
    if not version_ids:
        return {}
    found = session.execute(select(ReferenceProfile.model_version_id, ReferenceProfile.rows)
                            .where(ReferenceProfile.model_version_id.in_(version_ids))).all()
    return {version_id: rows for version_id, rows in found}
