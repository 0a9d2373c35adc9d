"""A model over a time range, for the model page's charts (``monitor.store.timeline``).

* ``GET /v1/models/{name}/timeseries``: KPI series with baseline, threshold, unit and marks
  (anomalies, breached rules);
* ``GET /v1/models/{name}/drift``: per-feature drift over time;
* ``GET /v1/runs/{run_id}/distributions``: one run's drift and reference vs window distributions;
* ``GET /v1/models/{name}/annotations``: deploys, promotions, rollbacks, retrains, recalibrations.

The range is ``since``/``until`` (ISO-8601; a time without a zone is UTC) or ``last`` (a duration
such as ``24h`` or ``7d``, ending now); the default is the last 7 days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from frontdoors.api.deps import database_url
from frontdoors.api.security import reader
from monitor.db.engine import session_scope

router = APIRouter(prefix="/v1", tags=["history"], dependencies=[Depends(reader)])
MAX_RANGE = dt.timedelta(days=400)


class TimeRange(BaseModel):
    since: dt.datetime
    until: dt.datetime


def time_range(since: dt.datetime | None = Query(None, description="Start (ISO-8601; no zone: UTC)"),
               until: dt.datetime | None = Query(None, description="End (ISO-8601; default now)"),
               last: str | None = Query(None, max_length=16, description="Instead of since: a duration "
                                                                          "ending at until, e.g. 24h, 7d")
               ) -> TimeRange:
    """FastAPI dependency: the requested range, checked (400 names the parameter that is wrong)."""
    from monitor.durations import parse_duration

    def utc(value: dt.datetime, name: str) -> dt.datetime:
        try:
            return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
        except OverflowError:  # 0001-01-01T00:00+14:00 is before the first representable UTC time
            raise HTTPException(400, f"{name}={value.isoformat()} is out of the representable range in UTC") from None

    end = utc(until, "until") if until else dt.datetime.now(dt.timezone.utc)
    if since is not None and last is not None:
        raise HTTPException(400, "give since or last, not both")
    if since is not None:
        start = utc(since, "since")
    else:
        try:
            seconds = parse_duration(last or "7d")
        except ValueError as exc:
            raise HTTPException(400, f"last={last!r}: expected a duration such as 30m, 24h or 7d") from exc
        try:
            start = end - dt.timedelta(seconds=seconds)
        except OverflowError:
            raise HTTPException(400, f"until={end.isoformat()} minus last={last or '7d'} is before year 1") from None
    if start > end:
        raise HTTPException(400, f"since {start.isoformat()} is after until {end.isoformat()}")
    if end - start > MAX_RANGE:
        raise HTTPException(400, f"the range is longer than {MAX_RANGE.days} days; narrow since/until or last")
    return TimeRange(since=start, until=end)


class KpiPoint(BaseModel):
    at: dt.datetime = Field(description="The run's window end")
    value: float | None
    baseline: float | None
    run_id: str
    version: str | None


class KpiMark(BaseModel):
    at: dt.datetime
    kind: str = Field(description="kpi_anomaly, performance_drop, service_slo ...")
    rule: str
    severity: str
    message: str
    run_id: str


class KpiTimeseries(BaseModel):
    name: str
    unit: str = Field(description="ratio (0..1), percent, ms, per_minute, count, target (the label's unit), score")
    threshold: float | None = Field(description="The value at which its rule fires (latest report), if any")
    points: list[KpiPoint] = Field(description="Oldest first")
    marks: list[KpiMark] = Field(description="Firing findings about this KPI in the range")


class Timeseries(BaseModel):
    model: str
    segment: str
    since: dt.datetime
    until: dt.datetime
    kpis: list[KpiTimeseries]


@router.get("/models/{name}/timeseries", response_model=Timeseries)
def model_timeseries(name: str, kpi: list[str] | None = Query(None, description="KPI names (repeat); default all"),
                     segment: str = Query("", max_length=128), window: TimeRange = Depends(time_range),
                     url: str = Depends(database_url)) -> Timeseries:
    """KPI history in a time range, with what each KPI is judged against and where it broke."""
    from monitor.store import models as store, timeline

    with session_scope(url) as session:
        model = store.get_model(session, name)
        series = timeline.kpi_range(session, model.id, kpi, window.since, window.until, segment)
        marks = timeline.marks(session, model.id, window.since, window.until) if segment == "" else {}
        thresholds = {**timeline.latest_thresholds(session, model.id), **_service_thresholds(store.spec_of(model))}
    return Timeseries(model=name, segment=segment, since=window.since, until=window.until, kpis=[
        KpiTimeseries(name=n, unit=timeline.unit_of(n), threshold=thresholds.get(n),
                      points=[KpiPoint(**p.__dict__) for p in points],
                      marks=[KpiMark(**m.__dict__) for m in marks.get(n, [])])
        for n, points in sorted(series.items())])


def _service_thresholds(spec) -> dict[str, float]:
    """Each service KPI's SLO in the KPI's own unit (error rate is a share, its rule a percent)."""
    from monitor.detect.rules.service_slo import SERVICE_RULES

    out = {}
    for metric, field, _upper, factor in SERVICE_RULES.values():
        if getattr(spec.rules, field, None) is not None:
            out[metric] = getattr(spec.rules, field) * factor
    return out


class DriftPointOut(BaseModel):
    at: dt.datetime
    run_id: str
    method: str | None = Field(description="The effect size's method (e.g. psi, wasserstein)")
    effect: float | None
    threshold: float | None
    p_value: float | None = Field(description="Adjusted p-value when the test gives one")
    status: str = Field(description="firing (drifted), ok, or insufficient_data (skipped)")


class ColumnDriftSeries(BaseModel):
    column: str
    output: bool = Field(description="A model output (prediction, score), not an input feature")
    points: list[DriftPointOut]


@router.get("/models/{name}/drift", response_model=list[ColumnDriftSeries])
def model_drift(name: str, window: TimeRange = Depends(time_range),
                url: str = Depends(database_url)) -> list[ColumnDriftSeries]:
    """Per-feature drift of each run in the range (whole window), drifted columns first."""
    from monitor.store import models as store, timeline

    with session_scope(url) as session:
        found = timeline.drift_range(session, store.get_model(session, name).id, window.since, window.until)
    out = [ColumnDriftSeries(column=column, output=points[0].output, points=[
        DriftPointOut(at=p.at, run_id=p.run_id, method=p.method, effect=p.effect, threshold=p.threshold,
                      p_value=p.p_value, status=p.status) for p in points]) for column, points in found.items()]
    return sorted(out, key=lambda s: (s.points[-1].status != "firing", s.column))


class RunDistributions(BaseModel):
    run_id: str
    model: str
    drift: list[dict[str, Any]] = Field(description="Per column: method, statistic, p-value, effect, drifted...")
    distributions: dict[str, Any] = Field(description="Column -> {type, reference, window}: histograms on the "
                                                      "reference's bin edges (numeric) or category counts")


@router.get("/runs/{run_id}/distributions", response_model=RunDistributions)
def run_distributions(run_id: str, url: str = Depends(database_url)) -> RunDistributions:
    """One run's drift table and the reference vs window distributions to plot beside it."""
    from monitor.check.summary import build_summary
    from monitor.store import runs

    with session_scope(url) as session:
        summary = build_summary(session, runs.get_run(session, run_id))
    return RunDistributions(run_id=run_id, model=summary["model"],
                            drift=[d for d in summary.get("drift") or [] if isinstance(d, dict)],
                            distributions=summary.get("distributions") or {})


class AnnotationOut(BaseModel):
    at: dt.datetime
    kind: str = Field(description="deploy, promote, rollback, retrain, recalibrate, register, notify")
    version: str | None
    summary: str
    source: str = Field(description="version, recovery or audit")
    ref: str = Field(description="version:<v>, recovery:<id> or audit:<id>")


@router.get("/models/{name}/annotations", response_model=list[AnnotationOut])
def model_annotations(name: str, window: TimeRange = Depends(time_range),
                      url: str = Depends(database_url)) -> list[AnnotationOut]:
    """What changed the model in the range, to draw as lines on its charts; oldest first."""
    from monitor.store import models as store, timeline

    with session_scope(url) as session:
        found = timeline.annotations(session, store.get_model(session, name).id, window.since, window.until)
    return [AnnotationOut(**a.__dict__) for a in found]
