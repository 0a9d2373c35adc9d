"""Check runs and what they produce: KPI values, findings and reports."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, select, union_all
from sqlalchemy.orm import Session

from monitor.db.schema import CheckRun, Finding, KpiValue, Model, Report, utcnow
from monitor.detect.findings import RuleEvaluation
from monitor.errors import NotFound
from monitor.store.common import begin_write, insert_ignoring_conflicts

STAGES = ("collect", "evaluate", "detect", "alert", "schedule_recovery", "report")
#: a default meaning "not read by the caller: read it here" (:func:`save_report`)
UNREAD = object()


def window_key(model: str, version: str | None, start: dt.datetime, end: dt.datetime) -> str:
    return f"{model}:{version or '*'}:{start.isoformat()}:{end.isoformat()}"


def open_run(session: Session, *, model_id: int, model_name: str, version: str | None, trigger: str,
             start: dt.datetime, end: dt.datetime, rerun: bool = False) -> tuple[CheckRun, bool]:
    """Create the run for (model, version, window) unless one exists. Returns (run, created).

    The unique ``dedup_key`` makes racing beats, duplicate beats and repeated forced checks
    converge on one run; ``rerun`` asks explicitly for a new one.
    """
    run_id, created = open_run_id(session, model_id=model_id, model_name=model_name, version=version,
                                  trigger=trigger, start=start, end=end, rerun=rerun)
    return get_run(session, run_id), created


def open_run_id(session: Session, *, model_id: int, model_name: str, version: str | None, trigger: str,
                start: dt.datetime, end: dt.datetime, rerun: bool = False) -> tuple[str, bool]:
    """:func:`open_run` for a caller that needs only the run's id: a run it creates costs one
    statement, a window that has a run already one more (its id by ``dedup_key``)."""
    row = run_row(model_id=model_id, model_name=model_name, version=version, trigger=trigger,
                  start=start, end=end, rerun=rerun)
    if insert_ignoring_conflicts(session, CheckRun.__table__, [row]):
        return row["id"], True
    return session.scalar(select(CheckRun.id).where(CheckRun.dedup_key == row["dedup_key"])), False


def run_row(*, model_id: int, model_name: str, version: str | None, trigger: str, start: dt.datetime,
            end: dt.datetime, rerun: bool = False) -> dict[str, Any]:
    """The ``check_runs`` row a new run starts as (its ``dedup_key`` names the model's window)."""
    key = window_key(model_name, version, start, end)
    run_id = uuid.uuid4().hex
    if rerun:
        key = f"{key}:rerun:{run_id}"
    return {"id": run_id, "model_id": model_id, "version": version, "trigger": trigger,
            "window_start": start, "window_end": end, "dedup_key": key, "status": "pending",
            "stages": {}, "results": {}, "alerts_applied": False, "created_at": utcnow()}


def open_runs(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert many :func:`run_row` rows at once; returns the ids of those inserted (a window that
    has a run already keeps it)."""
    return insert_ignoring_conflicts(session, CheckRun.__table__, rows)


def existing_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` already name a run."""
    if not keys:
        return set()
    return set(session.scalars(select(CheckRun.dedup_key).where(CheckRun.dedup_key.in_(keys))))


def get_run(session: Session, run_id: str) -> CheckRun:
    run = session.get(CheckRun, run_id)
    if run is None:
        raise NotFound(f"no check run {run_id!r}")
    return run


def lock_run(session: Session, run_id: str) -> CheckRun:
    """The run, locked for this transaction where the database has row locks (PostgreSQL).

    Not :func:`~monitor.store.common.for_update`: on SQLite that takes the database's one write
    lock, and a stage body holds this transaction for all its work, so every stage of every model
    would queue behind it. There, two copies of one stage (a redelivery while the original still
    runs) may both run the body, as before: the stages replace their rows rather than append, and
    a copy that finishes second finds nothing new to write (docs/architecture.md, "Exactly once").

    The run's model row comes in the same statement (only the run's row is locked): every stage
    body reads the model's spec, and ``session.get(Model, id)`` then finds it in the session
    instead of sending one more SELECT per stage.
    """
    row = session.execute(_lock_statement(session.get_bind().dialect.name), {"run_id": run_id}).first()
    if row is None:
        raise NotFound(f"no check run {run_id!r}")
    run, model = row
    session.info.setdefault("held_rows", []).append(model)  # the identity map holds rows weakly
    return run


@functools.lru_cache(maxsize=4)
def _lock_statement(dialect: str):
    """:func:`lock_run`'s SELECT of the run and its model (``FOR UPDATE OF check_runs`` on PostgreSQL)."""
    statement = (select(CheckRun, Model).join(Model, Model.id == CheckRun.model_id)
                 .where(CheckRun.id == bindparam("run_id")))
    if dialect == "postgresql":
        statement = statement.with_for_update(of=CheckRun)
    return statement


@dataclass(frozen=True)
class StageClaim:
    """What a stage found when it marked itself ``running`` (:func:`claim_stage`): the output it
    stored when it already succeeded, why it must not run (its run failed), or its attempt number."""

    attempts: int = 0
    output: dict[str, Any] | None = None
    refused: str | None = None


@dataclass(frozen=True)
class StagesWritten:
    """A run's ``stages`` and ``status`` exactly as this process last committed them (the mark of a
    stage it just finished): what :func:`claim_stage` may claim the next stage against."""

    stages: dict[str, Any]
    status: str


def claim_stage(session: Session, run_id: str, stage: str, written: StagesWritten | None = None) -> StageClaim:
    """Mark ``stage`` of the run ``running`` (attempt n+1) under the run's row lock, unless it
    already succeeded or the run failed.

    What :func:`lock_run` plus :func:`mark_stage` did, in two Core statements that read and write
    only ``stages``, ``status`` and ``error``: the ORM object, and the decoding of the run's
    ``results`` and ``watermark`` JSON, were most of a stage's bookkeeping CPU on a small check.
    The start time is taken once the row lock is held: a copy that waited behind a long original
    must not record a start that makes it look lost to the re-drive sweep while it runs.

    ``written``: the row as this process committed it a moment ago (``run_stages`` runs a run's
    stages back to back), tried first by :func:`_claim_unchanged`; when anyone else wrote the row
    since, that claims nothing and the locked read decides, as without it.
    """
    if written is not None:
        claim = _claim_unchanged(session, run_id, stage, written)
        if claim is not None:
            return claim
        session.rollback()  # the locked read below opens its own transaction (SQLite: BEGIN IMMEDIATE)
    read, write = _claim_statements(session.get_bind().dialect.name)
    begin_write(session)  # SQLite: the read and the write one transaction, as FOR UPDATE makes them on PostgreSQL
    row = session.execute(read, {"run_id": run_id}).first()
    if row is None:
        raise NotFound(f"no check run {run_id!r}")
    stages, status, error = row
    done = (stages or {}).get(stage) or {}
    if done.get("state") == "succeeded":
        return StageClaim(output=done.get("output") or {})
    if status == "failed":
        return StageClaim(refused=f"run {run_id} already failed ({error}); not running {stage}")
    attempts = int(done.get("attempts", 0)) + 1
    entry = {**done, "state": "running", "attempts": attempts, "started_at": utcnow().isoformat()}
    session.execute(write, {"run_id": run_id, "new_stages": {**(stages or {}), stage: entry},
                            "new_status": "running" if status == "pending" else status})
    return StageClaim(attempts=attempts)


def _claim_unchanged(session: Session, run_id: str, stage: str, written: StagesWritten) -> StageClaim | None:
    """Claim ``stage`` with one conditional UPDATE: only if the row's ``stages`` is still, to the
    byte, the text this process wrote, and its ``status`` the one it wrote. Then nobody claimed,
    finished, re-drove or failed anything of the run since, so the locked read would have found
    exactly ``written`` and made this same claim. Returns None when the UPDATE matched nothing
    (another process wrote the row), or when ``written`` says the stage must not be claimed.

    Atomic on both engines: SQLite's UPDATE takes the write lock for its own check; on PostgreSQL
    it waits for a transaction holding the row (a copy's stage body under ``lock_run``) and then
    re-checks its condition on the row that transaction left. Saves the SELECT ... FOR UPDATE (and
    SQLite's ``BEGIN IMMEDIATE``) of four of a run's five later stages' claims.
    """
    done = written.stages.get(stage) or {}
    if done.get("state") == "succeeded" or written.status in ("failed", "succeeded"):
        return None
    attempts = int(done.get("attempts", 0)) + 1
    entry = {**done, "state": "running", "attempts": attempts, "started_at": utcnow().isoformat()}
    result = session.execute(_unchanged_statement(), {
        "run_id": run_id, "old_stages": written.stages, "old_status": written.status,
        "new_stages": {**written.stages, stage: entry},
        "new_status": "running" if written.status == "pending" else written.status})
    return StageClaim(attempts=attempts) if result.rowcount == 1 else None


@functools.lru_cache(maxsize=1)
def _unchanged_statement():
    """:func:`_claim_unchanged`'s UPDATE; ``stages`` compared as text (PostgreSQL's ``json`` keeps
    the text it was given, SQLite stores it), the old value serialised as the ORM serialised it."""
    table = CheckRun.__table__
    json_type = table.c.stages.type
    return (table.update()
            .where(table.c.id == bindparam("run_id"), table.c.status == bindparam("old_status"),
                   cast(table.c.stages, Text) == cast(bindparam("old_stages", type_=json_type), Text))
            .values(stages=bindparam("new_stages", type_=json_type),
                    status=bindparam("new_status", type_=table.c.status.type)))


@functools.lru_cache(maxsize=4)
def _claim_statements(dialect: str):
    """:func:`claim_stage`'s SELECT (``FOR UPDATE`` on PostgreSQL) and UPDATE, built once."""
    table = CheckRun.__table__
    read = select(table.c.stages, table.c.status, table.c.error).where(table.c.id == bindparam("run_id"))
    if dialect == "postgresql":
        read = read.with_for_update()
    write = (table.update().where(table.c.id == bindparam("run_id"))
             .values(stages=bindparam("new_stages", type_=table.c.stages.type),
                     status=bindparam("new_status", type_=table.c.status.type)))
    return read, write


def mark_stage(session: Session, run: CheckRun, stage: str, state: str, **fields: Any) -> None:
    """Record a stage's state; the dict is replaced, not mutated, so SQLAlchemy sees the change."""
    stages = dict(run.stages or {})
    entry = dict(stages.get(stage, {}))
    entry.update(state=state, **fields)
    stages[stage] = entry
    run.stages = stages
    if state == "running" and run.status == "pending":
        run.status = "running"


def save_results(run: CheckRun, values: dict[str, Any]) -> None:
    """Merge a stage's result (its ``to_json()``, see ``monitor.check.results``) into the run's."""
    run.results = {**(run.results or {}), **values}


def fail_run(session: Session, run: CheckRun, stage: str, reason: str) -> None:
    from monitor.store.logs import release_window

    mark_stage(session, run, stage, "failed", error=reason, finished_at=utcnow().isoformat())
    if run.watermark:
        release_window(session, run.watermark["key"])
    run.status = "failed"
    run.error = f"{stage}: {reason}"
    run.finished_at = utcnow()
    from monitor import events

    events.run_finished(session, run)


def finish_run(run: CheckRun) -> None:
    run.status = "succeeded"
    run.finished_at = utcnow()


def save_kpis(session: Session, run: CheckRun,
              parts: dict[str, tuple[dict[str, float | None], dict[str, float | None]]]) -> None:
    """Replace the run's KPI values (safe to run twice): ``parts`` maps a segment (``""`` for the
    whole window) to its ``(kpis, baselines)``. One DELETE and one INSERT whatever the number of
    segments (a model with a segment column of ten values wrote 11 of each)."""
    session.execute(delete(KpiValue).where(KpiValue.run_id == run.id))
    rows = [{"run_id": run.id, "model_id": run.model_id, "version": run.version, "name": name,
             "segment": segment, "value": value, "baseline": baseline.get(name), "window_end": run.window_end}
            for segment, (kpis, baseline) in parts.items() for name, value in kpis.items()]
    if rows:
        session.execute(KpiValue.__table__.insert(), rows)


def kpis_of(session: Session, run_id: str, segment: str | None = None) -> list[KpiValue]:
    """The run's KPI rows; only the whole window's (``segment=""``) or one segment's when given."""
    statement = select(KpiValue).where(KpiValue.run_id == run_id)
    if segment is not None:
        statement = statement.where(KpiValue.segment == segment)
    return list(session.scalars(statement.order_by(KpiValue.id)))


def save_findings(session: Session, run: CheckRun, evaluations: list[RuleEvaluation]) -> None:
    """Replace the run's findings (safe to run twice)."""
    session.execute(delete(Finding).where(Finding.run_id == run.id))
    insert_ignoring_conflicts(session, Finding.__table__, [
        {"run_id": run.id, "model_id": run.model_id, "rule": e.rule, "kind": e.kind, "segment": e.segment,
         "status": e.status, "severity": e.severity, "metric": e.metric, "value": e.value,
         "baseline": e.baseline, "threshold": e.threshold, "message": e.message, "details": e.details}
        for e in evaluations
    ])


def findings_of(session: Session, run_id: str) -> list[Finding]:
    return list(session.scalars(select(Finding).where(Finding.run_id == run_id).order_by(Finding.id)))


def kpi_history(session: Session, model_id: int, names: list[str], limit: int = 50) -> dict[str, list]:
    """The last ``limit`` values of each KPI (oldest first), for reports and the dashboard.

    One statement: a ``UNION ALL`` of one index-ordered ``LIMIT`` per KPI (each branch walks
    ``ix_kpi_values_model_name_window``), instead of one round trip per KPI. The statement is
    built once per (number of KPIs, limit) with the model and the names as bound parameters
    (:func:`_history_statement`): building the 20-30 branches anew cost more CPU than running them.
    """
    names = list(dict.fromkeys(names))
    history: dict[str, list] = {name: [] for name in names}
    if not names:
        return history
    params = {"model_id": model_id, **{f"name_{i}": name for i, name in enumerate(names)}}
    rows = session.execute(_history_statement(len(names), limit), params).all()
    for name, ts, value, _ in sorted(rows, key=lambda row: (row[1], row[3])):
        history[name].append((ts.isoformat(), value))
    return history


@functools.lru_cache(maxsize=64)
def _history_statement(count: int, limit: int):
    """The ``UNION ALL`` of :func:`kpi_history` for ``count`` KPI names (``:name_0`` ...)."""
    parts = []
    for i in range(count):
        latest = (select(KpiValue.name, KpiValue.window_end, KpiValue.value, KpiValue.id)
                  .join(CheckRun, CheckRun.id == KpiValue.run_id)
                  .where(KpiValue.model_id == bindparam("model_id"), KpiValue.name == bindparam(f"name_{i}"),
                         KpiValue.segment == "")
                  .order_by(KpiValue.window_end.desc(), KpiValue.id.desc()).limit(limit).subquery())
        parts.append(select(latest.c.name, latest.c.window_end, latest.c.value, latest.c.id))
    return union_all(*parts)


def check_number(session: Session, run: CheckRun) -> int:
    """The run's place among its model's checks, oldest first (1 = the model's first check): what
    a rule on a cadence (``rules.drift.joint.every``) counts. Stable across a run's retries."""
    return int(session.scalar(_check_number(run)) or 1)


def _check_number(run: CheckRun):
    return select(func.count()).select_from(CheckRun).where(CheckRun.model_id == run.model_id,
                                                            CheckRun.created_at <= run.created_at)


def check_number_and_quarantined(session: Session, run: CheckRun) -> tuple[int, int]:
    """:func:`check_number` and the rows quarantined in the run's window
    (``monitor.store.logs.quarantined_between``), in one round trip: the detect stage reads both."""
    from monitor.store.logs import quarantined_count

    number, quarantined = session.execute(select(
        _check_number(run).scalar_subquery(),
        quarantined_count(run.model_id, run.window_start, run.window_end).scalar_subquery())).one()
    return int(number or 1), int(quarantined or 0)


def save_report(session: Session, run: CheckRun, summary: dict, html: str = "", *,
                existing: Report | None | object = UNREAD) -> Report:
    """Store the run's report; an empty ``html`` is rendered from the summary when read
    (``monitor.reports.report_page``). ``existing``: the run's stored report (or None) when the
    caller read it in this transaction already; by default it is read here."""
    report = report_of(session, run.id) if existing is UNREAD else existing
    if report is None:
        report = Report(run_id=run.id, model_id=run.model_id)
        session.add(report)
    report.summary, report.html = summary, html
    session.flush()
    return report


def latest_report(session: Session, model_id: int) -> Report | None:
    return session.scalar(select(Report).where(Report.model_id == model_id).order_by(Report.id.desc()).limit(1))


def report_of(session: Session, run_id: str) -> Report | None:
    return session.scalar(select(Report).where(Report.run_id == run_id))


def latest_run(session: Session, model_id: int) -> CheckRun | None:
    return session.scalar(
        select(CheckRun).where(CheckRun.model_id == model_id).order_by(CheckRun.created_at.desc()).limit(1)
    )


def recent_runs(session: Session, model_id: int, limit: int = 20) -> list[CheckRun]:
    return list(session.scalars(
        select(CheckRun).where(CheckRun.model_id == model_id).order_by(CheckRun.created_at.desc()).limit(limit)
    ))
