"""A database for the dashboard's browser tests, filled by real check chains (in this process).

Model ``fraud`` is checked a few times while healthy, then while its latency jumps, its recall
slides and a feature drifts, so it has a KPI history with an anomaly, firing alerts, a
data-quality issue, service KPIs, a scheduled recovery action and one awaiting approval, and an
audit trail. The drifting feature is named like a script tag and
one of its values like an image with an onerror handler: the pages must show both as text.
Model ``idle`` is registered and never checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import update

from monitor import audit
from monitor.alerts.lifecycle import list_alerts
from monitor.check import stages
from monitor.check.runs import open_check
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.schema import RecoveryAction
from monitor.recovery.schedule import list_actions
from monitor.registry import builtin
from monitor.spec import parse_spec
from monitor.store import logs, models as store

MODEL = "fraud"
HEALTHY_CHECKS = 4
EVIL_FEATURE = "<script>alert(1)</script>"
EVIL_VALUE = "<img src=x onerror=alert(2)>"
SPEC = {
    "name": MODEL, "task": "binary_classification", "window": "1h",
    "columns": {"numeric": ["amount"], "categorical": [EVIL_FEATURE], "score": None},
    "rules": {"recall_drop_pct": 10, "precision_drop_pct": None, "accuracy_drop_pct": None, "f1_drop_pct": None,
              "min_labelled_rows": 50, "latency_p95_ms": 250, "multivariate_auc": None,
              "anomaly": {"metrics": ["latency_p95_ms"], "min_history": 3, "params": {"warmup": 3}}},
    "recovery": {"recall_drop": [{"action": "retrain", "after": "6h", "callable": "frontdoors.demo.retrain:retrain"}],
                 "data_drift": [{"action": "rollback", "after": "2h"}]},
}


@dataclass(frozen=True)
class Populated:
    firing_alert: int
    acknowledged_alert: int | None
    scheduled_action: int
    approval_action: int


def _frame(n: int, rng: np.random.Generator, recall: float, shift: bool) -> pd.DataFrame:
    label = (rng.random(n) < 0.4).astype(int)
    prediction = np.where(label == 1, rng.random(n) < recall, rng.random(n) < 0.05).astype(int)
    channels = ["web", "app", EVIL_VALUE] if shift else ["web", "app", "pos"]
    weights = [0.2, 0.2, 0.6] if shift else [0.45, 0.35, 0.2]
    return pd.DataFrame({"amount": rng.gamma(2, 50, n).round(2), EVIL_FEATURE: rng.choice(channels, n, p=weights),
                         "label": label, "prediction": prediction})


def _log(session, model_id: int, frame: pd.DataFrame, batch: int, latency: float) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    rng = np.random.default_rng(batch)
    amount = frame["amount"].astype(object).where(rng.random(len(frame)) > 0.3 * (batch == 2), None)
    logs.insert_predictions(session, model_id, [
        {"request_id": f"b{batch}-{i}", "ts": now - dt.timedelta(seconds=5 + i % 900), "prediction": int(p),
         "features": {"amount": a, EVIL_FEATURE: c}, "latency_ms": float(rng.normal(latency, 10)), "status": "ok"}
        for i, (a, c, p) in enumerate(zip(amount, frame[EVIL_FEATURE], frame["prediction"]))], "2")
    logs.insert_labels(session, model_id, [{"request_id": f"b{batch}-{i}", "label": int(y)}
                                           for i, y in enumerate(frame["label"])])


def _check(settings: Settings, minutes_ahead: int) -> str:
    """A forced check's six stages, in this process, for a window ending a few minutes from now:
    every check gets its own window end (one point per check in the history) and still covers
    all the rows logged in the last quarter hour."""
    at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes_ahead)
    with session_scope(settings.effective_database_url) as session:
        run_id = open_check(session, MODEL, trigger="manual", rerun=True, now=at).run_id
    for name, body in stages.STAGES.items():
        stages.run_stage(settings, run_id, name, body)
    return run_id


def populate(database_url: str, data_dir) -> Populated:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    fraud, idle = parse_spec({"models": [SPEC, {"name": "idle", "task": "regression"}]})
    rng = np.random.default_rng(7)
    with session_scope(database_url) as s:
        model, _ = store.upsert_model(s, fraud)
        store.upsert_model(s, idle)
        builtin.register(s, model, fraud, "1", reference=_frame(3000, rng, 0.9, shift=False))
        builtin.register(s, model, fraud, "2")
        model_id = model.id
    # healthy checks (a steady latency history), then the window fills with slower, worse, drifted traffic
    checks = 0
    for batch, (recall, shift, latency) in enumerate([(0.9, False, 60), (0.6, True, 300), (0.4, True, 420)]):
        with session_scope(database_url) as s:
            _log(s, model_id, _frame(300, rng, recall, shift), batch, latency)
        for _ in range(HEALTHY_CHECKS if batch == 0 else 1):
            checks += 1
            _check(settings, minutes_ahead=checks)
    with session_scope(database_url) as s:
        alerts = list_alerts(s, model_id, open_only=True)
        actions = sorted((a for a in list_actions(s, model_id) if a.state == "scheduled"), key=lambda a: a.id)
        assert alerts and len(actions) >= 2, (alerts, actions)
        # another branch adds approval; the dashboard must already offer approve + cancel for it
        s.execute(update(RecoveryAction).where(RecoveryAction.id == actions[0].id).values(state="pending_approval"))
        acked = alerts[-1] if len(alerts) > 1 else None
        if acked is not None:
            audit.record(s, actor="token:alice", action="acknowledge", subject=f"alert:{acked.id}",
                         reason="looking <b>into</b> it", model_id=model_id)
        audit.record(s, actor="cli:bob", action="silence", subject=f"alert:{alerts[0].id}",
                     reason=f"{EVIL_FEATURE} is noisy", model_id=model_id)
        return Populated(firing_alert=alerts[0].id, acknowledged_alert=acked.id if acked else None,
                         scheduled_action=actions[1].id, approval_action=actions[0].id)
