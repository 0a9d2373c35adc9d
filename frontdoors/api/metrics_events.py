"""What happened to each model, for ``/metrics``: which version serves and since when, how recovery
actions ended, and how alert deliveries went.

* ``modelwatch_serving_version_info`` (1 per model and serving version) and
  ``modelwatch_serving_since_timestamp_seconds``: a deploy, a rollback or a promoted retrain
  changes the timestamp, so Grafana annotates ``changes(...) > 0`` and ``count by (model)`` of the
  info metric shows a model serving two versions at once.
* ``modelwatch_recovery_actions_finished_total{model, kind, state}``: actions that reached
  ``succeeded``, ``failed``, ``cancelled`` or ``expired``; a row reaches a final state once, so
  this only grows and ``increase()`` of ``state="failed"`` is an alert.
* ``modelwatch_alert_delivery_attempts_total{model, channel, outcome}``: finished delivery attempts
  (``sent``, ``retry``, ``failed``, ``lost``); a channel that stopped delivering shows as
  ``retry``/``failed`` growing while ``sent`` does not.

Zeros are written for each model x kind x final state and for each channel x outcome a model has
used, so rates start from 0 rather than from a missing series.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy.orm import Session

from monitor.plugins import ACTIONS
from monitor.store import overview

def recovery_kinds() -> list[str]:
    """The recovery action kinds a spec can name (the ACTIONS plugins), each given a zero series."""
    return ACTIONS.names()

FINISHED_ACTION_STATES = ("succeeded", "failed", "cancelled", "expired")
DELIVERY_OUTCOMES = ("sent", "retry", "failed", "lost")


class EventCollector:
    def __init__(self, session: Session, names: dict[int, str]):
        self.session, self.names = session, names

    def collect(self):
        yield from self._serving()
        yield self._recovery()
        yield self._deliveries()

    def _models(self):
        return sorted(self.names.items(), key=lambda item: item[1])

    def _serving(self):
        info = GaugeMetricFamily("modelwatch_serving_version_info", "1 for the version each model serves now",
                                 labels=["model", "version"])
        since = GaugeMetricFamily("modelwatch_serving_since_timestamp_seconds",
                                  "Unix time the serving version was promoted (changes on deploy, rollback, retrain)",
                                  labels=["model"])
        newest: dict[int, float] = {}
        for model_id, version, promoted in overview.serving_versions(self.session):
            info.add_metric([self.names.get(model_id, "?"), version], 1.0)
            newest[model_id] = max(newest.get(model_id, 0.0), promoted.timestamp())
        for model_id, name in self._models():
            if model_id in newest:
                since.add_metric([name], newest[model_id])
        yield info
        yield since

    def _recovery(self) -> CounterMetricFamily:
        family = CounterMetricFamily("modelwatch_recovery_actions_finished",
                                     "Recovery actions that reached a final state", labels=["model", "kind", "state"])
        counts = {(m, kind, state): n for m, kind, state, n in overview.action_counts(self.session, FINISHED_ACTION_STATES)}
        for model_id, name in self._models():
            for kind in sorted({*recovery_kinds(), *(k for m, k, _ in counts if m == model_id)}):
                for state in FINISHED_ACTION_STATES:
                    family.add_metric([name, kind, state], counts.get((model_id, kind, state), 0))
        return family

    def _deliveries(self) -> CounterMetricFamily:
        family = CounterMetricFamily("modelwatch_alert_delivery_attempts",
                                     "Finished attempts at delivering an alert notification, by outcome",
                                     labels=["model", "channel", "outcome"])
        counts = {(m, channel, outcome): n for m, channel, outcome, n in overview.delivery_outcome_counts(self.session)}
        for model_id, name in self._models():
            for channel in sorted({c for m, c, _ in counts if m == model_id}):
                for outcome in sorted({*DELIVERY_OUTCOMES, *(o for m, c, o in counts if (m, c) == (model_id, channel))}):
                    family.add_metric([name, channel, outcome], counts.get((model_id, channel, outcome), 0))
        return family
