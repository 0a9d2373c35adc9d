"""The contract every recovery action keeps, run over the whole ACTIONS family on SQLite.

For each registered action, on a small model (versions 1 and 2, version 2 serving and answering
labelled traffic at random): an alert plans the action from the spec, the action is claimed and
executed the way ``tasks.recovery.execute`` does it (``monitor.recovery.execution``), it
succeeds, its outcome is recorded as JSON and audited, it changed what it says it changed, and
its follow-up verification is scheduled exactly when the action is ``verifiable``. An action
added without an expectation below fails this test until it gets one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.schema import Alert, AuditEvent, RecoveryAction, utcnow
from monitor.plugins import ACTIONS
from monitor.recovery import Action, approval, execution, schedule
from monitor.registry import builtin
from monitor.spec import parse_spec
from monitor.store import logs, models as store_models, runs as store_runs
from tests.conftest import session

pytestmark = pytest.mark.integration

RETRAIN = "tests.integration.test_recovery_store:truth_retrain"  # learns label = x > 0


def _serving(s: Session, model_id: int):
    return store_models.serving_version(s, model_id)


#: Per action: the policy fields it needs, and what must be true of the model after it ran.
EXPECTED: dict[str, tuple[dict, Callable[[Session, int], bool]]] = {
    "rollback": ({}, lambda s, m: _serving(s, m).version == "1"),
    "retrain": ({"callable": RETRAIN, "promote_margin": 0.05}, lambda s, m: _serving(s, m).version == "3"),
    "recalibrate": ({}, lambda s, m: "threshold" in (_serving(s, m).details or {}).get("calibration", {})),
    "notify": ({}, lambda s, m: _serving(s, m).version == "2"),  # a person decides; nothing changes
}


def _reference(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "region": ["north"] * n, "label": (x > 0).astype(int),
                         "prediction": (x > 0).astype(int), "score": (x > 0) * 0.8 + 0.1})


def _small_model(url: str, action: str, policy: dict) -> tuple[int, str]:
    """Versions 1 and 2 (2 serving, predicting at random), labelled traffic, and an open check run."""
    spec = parse_spec({"name": "churn", "task": "binary_classification", "window": "1h",
                       "columns": {"numeric": ["x"], "categorical": ["region"]}, "alerts": [{"log": {}}],
                       "recovery": {"recall_drop": {"action": action, **policy}}})[0]
    rng = np.random.default_rng(3)
    x, now = rng.normal(size=800), utcnow()
    with session(url) as s:
        model, _ = store_models.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=_reference())
        builtin.register(s, model, spec, "2")
        logs.insert_predictions(s, model.id, [
            {"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=float(rng.uniform(1, 1800))), "version": "2",
             "prediction": int(rng.random() < 0.5), "score": float(rng.random()), "latency_ms": 1.0,
             "status": "ok", "features": {"x": float(x[i]), "region": "north"}} for i in range(len(x))], None)
        logs.insert_labels(s, model.id, [{"request_id": f"r{i}", "label": int(x[i] > 0), "ts": now}
                                         for i in range(len(x))])
        end = now.replace(microsecond=0)
        run, _ = store_runs.open_run(s, model_id=model.id, model_name="churn", version="2", trigger="manual",
                                     start=end - dt.timedelta(hours=1), end=end)
        return model.id, run.id


def _planned(url: str, model_id: int, run_id: str) -> int:
    """The action an alert of ``recall_drop`` plans, claimed as ``tasks.recovery.execute`` claims it."""
    with session(url) as s:
        alert = Alert(model_id=model_id, rule="recall_drop", kind="performance_drop", segment="", state="firing",
                      severity="warning", message="recall fell", clean_checks=0, first_run_id=run_id,
                      last_run_id=run_id, last_window_end=utcnow())
        s.add(alert)
        s.flush()
        run = store_runs.get_run(s, run_id)
        schedule.plan(s, run, store_models.spec_of(store_models.get_model_by_id(s, model_id)), [alert])
    with session(url) as s:
        [action] = schedule.actions_of_run(s, store_runs.get_run(s, run_id))
        if action.state == "pending_approval":  # a policy with approval: true waits for a person
            approval.approve(s, action.id, actor="cli:contract")
    with session(url) as s:
        assert schedule.claim(s, action.id) is not None
        return action.id


def test_every_action_has_an_expectation_here():
    assert sorted(EXPECTED) == ACTIONS.names(), "add the policy and the expected effect of each new action"


@pytest.mark.parametrize("name", ACTIONS.names())
def test_the_action_runs_once_records_its_outcome_and_does_what_it_says(name, sqlite_url):
    cls = ACTIONS.get(name)
    assert issubclass(cls, Action) and cls.name == name and cls.__doc__.strip()
    policy, changed = EXPECTED[name]
    model_id, run_id = _small_model(sqlite_url, name, policy)
    action_id = _planned(sqlite_url, model_id, run_id)

    done = execution.execute(sqlite_url, action_id)

    assert done.ran and done.state == "succeeded", done
    assert json.loads(json.dumps(done.to_json()))["summary"]
    assert (done.verify_at is not None) is cls.verifiable
    with session(sqlite_url) as s:
        action = s.get(RecoveryAction, action_id)
        assert action.state == "succeeded" and action.error is None
        assert action.result["ok"] is True and action.result["summary"] == done.summary
        assert json.loads(json.dumps(action.result)) == action.result
        assert action.verification_state == ("due" if cls.verifiable else None)
        trail = [(e.actor, e.action, e.subject) for e in s.scalars(select(AuditEvent).where(AuditEvent.action == name))]
        assert trail == [("system", name, f"recovery:{action_id}")]
        assert changed(s, model_id), f"{name}: {action.result}"


def test_an_action_that_raises_is_recorded_failed_and_the_exception_stays_in_the_record(sqlite_url, monkeypatch):
    def broken(self, context):
        context.model.updated_at = utcnow()  # a half-done change: rolled back with the failure
        raise RuntimeError("registry said no")

    monkeypatch.setattr(ACTIONS.get("rollback"), "run", broken)
    model_id, run_id = _small_model(sqlite_url, "rollback", {})
    action_id = _planned(sqlite_url, model_id, run_id)

    done = execution.execute(sqlite_url, action_id)

    assert (done.state, done.error, done.ran, done.verify_at) == ("failed", "registry said no", False, None)
    with session(sqlite_url) as s:
        action = s.get(RecoveryAction, action_id)
        assert (action.state, action.error) == ("failed", "RuntimeError: registry said no")
        assert _serving(s, model_id).version == "2" and action.verification_state is None
