"""Check-run metrics for ``/metrics``, computed from the database on each scrape:

* ``modelwatch_check_duration_seconds`` (histogram per model): ``finished_at - created_at`` of every
  finished run, so queueing time counts too (that is what an on-call engineer waits for);
* ``modelwatch_check_failures_total`` (counter per model): runs that ended ``failed``;
* ``modelwatch_feature_drift_score`` / ``modelwatch_feature_drift_detected`` (gauges per model,
  version and feature): the effect size and verdict of each column in the latest run with drift results.

Counting rows (not incrementing process-local counters) keeps these monotonic and identical
across API processes: a run only ever moves to a final state once.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.check.results import DetectResult
from monitor.db.schema import CheckRun

#: upper bounds (seconds) of the check-duration buckets: a chain takes seconds, a backlog minutes
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def duration_seconds(session: Session):
    """``finished_at - created_at`` in seconds as a SQL expression (both are naive UTC columns)."""
    if _is_postgres(session):
        return func.extract("epoch", CheckRun.finished_at - CheckRun.created_at)
    return (func.julianday(CheckRun.finished_at) - func.julianday(CheckRun.created_at)) * 86400.0


class CheckCollector:
    def __init__(self, session: Session, names: dict[int, str]):
        self.session, self.names = session, names

    def collect(self):
        yield self._durations()
        yield self._failures()
        yield from self._drift()

    def _durations(self) -> HistogramMetricFamily:
        """Bucketed inside the database (one grouped query), so a scrape stays cheap however many
        runs the history holds."""
        family = HistogramMetricFamily("modelwatch_check_duration_seconds",
                                       "Time from opening a check run to its end (queueing included)",
                                       labels=["model"])
        seconds = func.greatest(duration_seconds(self.session), 0.0) if _is_postgres(self.session) \
            else func.max(duration_seconds(self.session), 0.0)
        counts = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
        statement = (select(CheckRun.model_id, func.count(), func.sum(seconds), *counts)
                     .where(CheckRun.finished_at.is_not(None)).group_by(CheckRun.model_id))
        for model_id, total, seconds_sum, *cumulative in self.session.execute(statement):
            buckets = [(repr(float(b)), int(c or 0)) for b, c in zip(DURATION_BUCKETS, cumulative)]
            family.add_metric([self.names.get(model_id, "?")], [*buckets, ("+Inf", int(total))],
                              float(seconds_sum or 0.0))
        return family

    def _failures(self) -> CounterMetricFamily:
        family = CounterMetricFamily("modelwatch_check_failures", "Check runs that ended failed",
                                     labels=["model"])
        failed = dict(self.session.execute(select(CheckRun.model_id, func.count())
                                           .where(CheckRun.status == "failed").group_by(CheckRun.model_id)).all())
        for model_id, name in sorted(self.names.items()):
            family.add_metric([name], failed.get(model_id, 0))
        return family

    def _drift(self):
        score = GaugeMetricFamily("modelwatch_feature_drift_score",
                                  "Drift effect size of each column in the model's latest run with drift results",
                                  labels=["model", "version", "feature", "method"])
        detected = GaugeMetricFamily("modelwatch_feature_drift_detected",
                                     "1 if the column drifted in the model's latest run with drift results",
                                     labels=["model", "version", "feature"])
        for model_id, name in sorted(self.names.items()):
            run = self._latest_with_drift(model_id)
            if run is None:
                continue
            for column in DetectResult.from_json(run.results).get("drift", []):
                labels = [name, run.version or "", str(column.get("column"))]
                if column.get("effect_size") is not None:
                    score.add_metric([*labels, str(column.get("effect_method") or "")], column["effect_size"])
                if not column.get("skipped"):
                    detected.add_metric(labels, 1.0 if column.get("drifted") else 0.0)
        yield score
        yield detected

    def _latest_with_drift(self, model_id: int) -> CheckRun | None:
        """The newest succeeded run whose detect stage judged drift (a few recent runs are looked at)."""
        for run in self.session.scalars(select(CheckRun).where(CheckRun.model_id == model_id,
                                                               CheckRun.status == "succeeded")
                                        .order_by(CheckRun.created_at.desc()).limit(5)):
            if DetectResult.from_json(run.results).get("drift"):
                return run
        return None
