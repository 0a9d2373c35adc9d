"""Check-run metrics for ``/metrics``, computed from the database on each scrape:

* ``modelwatch_check_duration_seconds`` (histogram per model): ``finished_at - created_at`` of every
  finished run, so queueing time counts too (that is what an on-call engineer waits for);
* ``modelwatch_check_failures_total`` (counter per model): runs that ended ``failed``;
* ``modelwatch_runs_redriven_total`` (counter per model and stage): times the sweeper published a
  lost chain again from that stage (``monitor.check.redrive``, counted from its audit rows); any
  increase means a broker or database fault cost a chain, and the re-drive recovered it;
* ``modelwatch_last_successful_check_timestamp_seconds`` (gauge per model): when its newest
  succeeded run finished, and ``modelwatch_check_interval_seconds`` (gauge per active model): how
  often beat should check it. Together they make a dead beat or a stuck worker an alert
  (``time() - last > 2 * interval``) that no error message would ever raise;
* ``modelwatch_feature_drift_score`` / ``modelwatch_feature_drift_detected`` (gauges per model,
  version and feature): the effect size and verdict of each column in the latest run with drift results.

Counting rows (not incrementing process-local counters) keeps these monotonic and identical
across API processes: a run only ever moves to a final state once.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy.orm import Session

from monitor.check import redrive
from monitor.check.results import DetectResult
from monitor.db.schema import CheckRun
from monitor.detect.frames import column_label
from monitor.store import overview
from monitor.store.runs import STAGES

#: upper bounds (seconds) of the check-duration buckets: a chain takes seconds, a backlog minutes
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


class CheckCollector:
    def __init__(self, session: Session, names: dict[int, str]):
        self.session, self.names = session, names

    def collect(self):
        yield self._durations()
        yield self._failures()
        yield self._redrives()
        yield from self._freshness()
        yield from self._drift()

    def _durations(self) -> HistogramMetricFamily:
        """Bucketed inside the database (one grouped query), so a scrape stays cheap however many
        runs the history holds."""
        family = HistogramMetricFamily("modelwatch_check_duration_seconds",
                                       "Time from opening a check run to its end (queueing included)",
                                       labels=["model"])
        for model_id, total, seconds_sum, cumulative in overview.run_duration_histogram(self.session, DURATION_BUCKETS):
            buckets = [(repr(float(b)), c) for b, c in zip(DURATION_BUCKETS, cumulative)]
            family.add_metric([self.names.get(model_id, "?")], [*buckets, ("+Inf", total)], seconds_sum)
        return family

    def _failures(self) -> CounterMetricFamily:
        family = CounterMetricFamily("modelwatch_check_failures", "Check runs that ended failed",
                                     labels=["model"])
        failed = overview.failed_run_counts(self.session)
        for model_id, name in sorted(self.names.items()):
            family.add_metric([name], failed.get(model_id, 0))
        return family

    def _redrives(self) -> CounterMetricFamily:
        family = CounterMetricFamily("modelwatch_runs_redriven", "Lost check chains the sweeper published again, "
                                     "by the stage it re-drove from", labels=["model", "stage"])
        counted = redrive.counts(self.session)
        for model_id, name in sorted(self.names.items(), key=lambda item: item[1]):
            for stage in STAGES:
                family.add_metric([name, stage], counted.get((model_id, stage), 0))
        return family

    def _freshness(self):
        last = GaugeMetricFamily("modelwatch_last_successful_check_timestamp_seconds",
                                 "Unix time the model's newest succeeded check run finished", labels=["model"])
        for model_id, finished in sorted(overview.last_successful_checks(self.session).items()):
            if finished is not None:
                last.add_metric([self.names.get(model_id, "?")], finished.timestamp())
        yield last
        interval = GaugeMetricFamily("modelwatch_check_interval_seconds",
                                     "Seconds between scheduled checks of each active model (its spec's schedule)",
                                     labels=["model"])
        for model_id, seconds in sorted(overview.check_intervals(self.session).items()):
            interval.add_metric([self.names.get(model_id, "?")], seconds)
        yield interval

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
                labels = [name, run.version or "", column_label(str(column.get("column")))]
                if column.get("effect_size") is not None:
                    score.add_metric([*labels, str(column.get("effect_method") or "")], column["effect_size"])
                if not column.get("skipped"):
                    detected.add_metric(labels, 1.0 if column.get("drifted") else 0.0)
        yield score
        yield detected

    def _latest_with_drift(self, model_id: int) -> CheckRun | None:
        """The newest succeeded run whose detect stage judged drift (a few recent runs are looked at)."""
        for run in overview.newest_runs(self.session, model_id, status="succeeded", limit=5):
            if DetectResult.from_json(run.results).get("drift"):
                return run
        return None
