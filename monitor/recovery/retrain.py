"""Retrain: call the spec's ``callable`` on recent labelled data, register and serve its result.

The callable receives a :class:`RetrainRequest` and returns a :class:`RetrainResult`: a new
version id, the trained artifact (bytes, optional), a reference DataFrame of the new model's
predictions on held-out data (labels, predictions, features) and its metrics. modelwatch
registers the version, computes its reference profile and makes it the serving version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from monitor.recovery.actions import ActionContext, Outcome
from monitor.registry import builtin
from monitor.spec import ModelSpec
from monitor.store import logs, models as store_models


@dataclass(frozen=True)
class RetrainRequest:
    model: str
    spec: ModelSpec
    serving_version: str | None
    serving_artifact: bytes | None
    next_version: str           # a free version id modelwatch suggests ("3" after "1", "2")
    data: pd.DataFrame          # recent labelled predictions: features, prediction, score, label, ts
    reason: str


@dataclass(frozen=True)
class RetrainResult:
    version: str
    reference: pd.DataFrame
    artifact: bytes | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def _next_version(session, model_id: int) -> str:
    versions = [v.version for v in store_models.list_versions(session, model_id)]
    numbers = [int(v) for v in versions if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def run(context: ActionContext) -> Outcome:
    from monitor.spec import RecoveryPolicy

    policy = RecoveryPolicy.model_validate(context.action.params["policy"])
    train = policy.load_callable()
    session, model = context.session, context.model
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=context.spec.window * 4)
    data = logs.labelled_history(session, model.id, since)
    serving = store_models.serving_version(session, model.id)
    request = RetrainRequest(model=model.name, spec=context.spec,
                             serving_version=serving.version if serving else None,
                             serving_artifact=serving.artifact if serving else None,
                             next_version=_next_version(session, model.id),
                             data=data, reason=context.action.reason)
    result = train(request)
    if not isinstance(result, RetrainResult):
        return Outcome(False, f"{policy.callable} returned {type(result).__name__}, expected RetrainResult")
    builtin.register(session, model, context.spec, result.version, reference=result.reference,
                     artifact=result.artifact, serving=True,
                     details={"trained_by": "modelwatch retrain", "action_id": context.action.id,
                              "training_rows": len(data), "metrics": result.metrics})
    return Outcome(True, f"retrained on {len(data)} labelled rows; version {result.version} is serving",
                   {"new_version": result.version, "training_rows": len(data), "metrics": result.metrics,
                    "previous_version": request.serving_version})
