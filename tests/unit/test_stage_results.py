"""Stage results are values whose JSON keeps the shape reports, the API and the dashboard read."""

from __future__ import annotations

import json

from monitor.check.results import AlertResult, DetectResult, EvaluateResult, RecoveryPlan
from monitor.detect.rule import SegmentKpis
from monitor.kpis import Evaluation


def _evaluated() -> EvaluateResult:
    return EvaluateResult(
        evaluation=Evaluation(kpis={"recall": 0.5, "roc_auc": None}, labelled_rows=80,
                              confusion_matrix={"labels": ["0", "1"], "matrix": [[1, 2], [3, 4]]}, notes=["n"]),
        rows=120, baseline={"recall": 0.8},
        segments={"plan=pro": SegmentKpis(kpis={"recall": 0.4}, labelled_rows=30, baseline={"recall": 0.9})},
        estimated={"kpis": {"recall": 0.6}, "n": 40}, service={"latency_p95_ms": 12.0},
        interactions={"impressions": 10, "clicks": 1})


def test_the_evaluate_result_survives_json():
    result = _evaluated()
    assert EvaluateResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_the_evaluate_result_is_stored_under_the_keys_the_report_reads():
    stored = _evaluated().to_json()
    assert set(stored) == {"evaluation", "counts", "baseline", "segments", "estimated", "service", "interactions"}
    assert stored["counts"] == {"rows": 120, "labelled_rows": 80}
    assert stored["evaluation"]["kpis"]["recall"] == 0.5 and stored["evaluation"]["labelled_rows"] == 80
    assert stored["segments"]["plan=pro"] == {"kpis": {"recall": 0.4}, "labelled_rows": 30, "baseline": {"recall": 0.9}}


def test_a_run_without_an_evaluate_result_has_none():
    assert EvaluateResult.from_json(None) is None
    assert EvaluateResult.from_json({"detection": {}}) is None
    assert EvaluateResult.empty().kpis == {} and EvaluateResult.empty().labelled_rows == 0


def test_the_detect_result_reads_missing_parts_as_their_defaults():
    detection = DetectResult.from_json({"detection": {"drift": [{"column": "x"}], "multivariate": None}})
    assert detection.get("drift", []) == [{"column": "x"}]
    assert detection.get("multivariate") is None and detection.get("variance", {}) == {}
    assert DetectResult.from_json(None).get("drift", []) == []
    assert DetectResult.from_json(detection.to_json()) == detection


def test_the_alert_and_recovery_outputs_survive_json():
    alert = AlertResult(fired=[1], resolved=[2], cancelled_actions=[{"id": 3, "task_id": "t"}], notifications=[4])
    plan = RecoveryPlan(actions=[{"id": 5, "kind": "rollback", "eta": "2024-05-02T12:00:00+00:00"}],
                        verification={"recovered": True}, notifications=[6])
    assert AlertResult.from_json(json.loads(json.dumps(alert.to_json()))) == alert
    assert RecoveryPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    assert RecoveryPlan.from_json({"actions": []}) == RecoveryPlan(actions=[])
