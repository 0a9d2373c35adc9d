"""Retrain: call the spec's ``callable`` on recent labelled data; promote its candidate only on evidence.

The callable receives a :class:`RetrainRequest` (recent labelled rows, minus a held-out share of
the newest window it must not see) and returns a :class:`RetrainResult`: a new version id, the
trained artifact (bytes, optional), a reference DataFrame of the new model's predictions on its
own validation data, its metrics, per-iteration ``history`` where the learner has one (e.g. a
boosting model's staged train/validation loss) and ``predict``, a function that answers feature
rows. modelwatch scores the candidate against the serving version on the held-out rows
(:mod:`monitor.recovery.evaluation`) and serves it only if it is better by ``promote_margin``;
otherwise the candidate is registered but not served, and the action fails with the comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from monitor import audit
from monitor.plugins import action
from monitor.recovery.actions.base import Action, ActionContext, Outcome
from monitor.recovery.evaluation import compare, split_holdout
from monitor.registry import adapter_for
from monitor.registry.builtin import next_version as free_version
from monitor.spec import ModelSpec, RecoveryPolicy
from monitor.store import logs, models as store_models


@dataclass(frozen=True)
class RetrainRequest:
    model: str
    spec: ModelSpec
    serving_version: str | None
    serving_artifact: bytes | None
    next_version: str           # a free version id modelwatch suggests ("3" after "1", "2")
    data: pd.DataFrame          # recent labelled predictions (held-out rows removed): features, prediction, score, label, ts
    reason: str


Predict = Callable[[pd.DataFrame], "np.ndarray | tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class RetrainResult:
    version: str
    reference: pd.DataFrame
    artifact: bytes | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    #: Per-iteration curves, e.g. {"train_loss": [...], "validation_loss": [...]}.
    history: dict[str, list[float]] = field(default_factory=dict)
    #: Feature rows -> predictions, or (predictions, positive-class scores). Without it nothing is promoted.
    predict: Predict | None = None


def _predict(result: RetrainResult, holdout: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    answer = result.predict(holdout)
    if isinstance(answer, tuple):
        return np.asarray(answer[0]), np.asarray(answer[1], dtype=float)
    return np.asarray(answer), None


def _history(history: dict[str, list[float]]) -> dict[str, list[float]]:
    return {name: [float(v) for v in values] for name, values in (history or {}).items()}


@action("retrain")
class Retrain(Action):
    """Train a candidate with the spec's callable; register it, and serve it only if it beats the
    serving version on held-out recent data by ``promote_margin``."""

    @classmethod
    def check_policy(cls, policy: RecoveryPolicy) -> None:
        if not policy.callable or ":" not in policy.callable:
            raise ValueError("action 'retrain' needs callable: 'package.module:function'")

    def run(self, context: ActionContext) -> Outcome:
        return retrain(context)


def retrain(context: ActionContext) -> Outcome:
    """Call the policy's training function and judge its candidate (see the module doc)."""
    policy = RecoveryPolicy.model_validate(context.action.params["policy"])
    train = policy.load_callable()
    session, model, spec = context.session, context.model, context.spec
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=spec.window * 4)
    data = logs.labelled_history(session, model.id, since)
    training, holdout = split_holdout(data, spec.window)
    serving = store_models.serving_version(session, model.id)
    serving_version = serving.version if serving else None
    request = RetrainRequest(model=model.name, spec=spec, serving_version=serving_version,
                             serving_artifact=serving.artifact if serving else None,
                             next_version=free_version(session, model.id),
                             data=training, reason=context.action.reason)
    result = train(request)
    if not isinstance(result, RetrainResult):
        return Outcome(False, f"{policy.callable} returned {type(result).__name__}, expected RetrainResult")
    if result.predict is None:
        comparison = None
        verdict = "the callable returned no predict function, so the candidate cannot be evaluated"
    else:
        predictions, scores = _predict(result, holdout)
        comparison = compare(spec, policy, holdout, serving_version, predictions, scores)
        verdict = comparison.reason
    promote = comparison is not None and comparison.promote
    details = {"trained_by": "modelwatch retrain", "action_id": context.action.id, "training_rows": len(training),
               "metrics": result.metrics, "promoted": promote, "evaluation": verdict}
    registry = adapter_for(model, spec, session)
    version = registry.register_candidate(result.version, reference=result.reference, artifact=result.artifact,
                                          details=details)  # the registry may number it (MLflow does)
    if promote:
        registry.promote(version)
    else:
        store_models.get_version(session, model.id, version).status = "rejected"
    record = {"new_version": version, "previous_version": serving_version, "promoted": promote,
              "training_rows": len(training), "holdout_rows": len(holdout), "metrics": result.metrics,
              "history": _history(result.history),
              "evaluation": comparison.to_json() if comparison else {"promote": False, "reason": verdict}}
    if promote:
        audit.record(session, actor=audit.SYSTEM, action="promote", subject=f"model:{model.name}:{version}",
                     reason=verdict, model_id=model.id,
                     details={"action_id": context.action.id, "from_version": serving_version})
        return Outcome(True, f"retrained on {len(training)} labelled rows; version {version} is serving: {verdict}",
                       record)
    return Outcome(False, f"retrained version {version} not promoted: {verdict}", record)
