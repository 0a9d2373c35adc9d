"""Every registered detect rule keeps the same contract: registered under its name with a
docstring, reads only spec fields that exist, returns well-formed findings that survive JSON,
fires on a window that is broken in every way, and never fires without enough data.

A new module in ``monitor/detect/rules/`` is picked up here with no edit to this file.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from monitor.detect.findings import Finding
from monitor.detect.frames import window_frame
from monitor.detect.rule import Rule, SegmentKpis, WindowContext, run_rules
from monitor.detect.rules.estimated import estimate_window
from monitor.kpis import evaluate
from monitor.kpis.interactions import InteractionCounts
from monitor.plugins import RULES
from monitor.reference import build_drift_reference, build_profile
from monitor.spec import SEVERITIES, ModelSpec, finding_kinds, parse_spec, rule_names

NAMES = RULES.names()
STATUSES = {"firing", "ok", "insufficient_data"}

SPEC = parse_spec({
    "name": "contract", "task": "binary_classification",
    "columns": {"numeric": ["income", "age"], "categorical": ["plan"], "segments": ["plan"]},
    "rules": {"latency_p95_ms": 200, "error_rate_pct": 1, "min_throughput_rpm": 100, "min_availability_pct": 99,
              "max_cpu_pct": 80, "max_memory_pct": 80, "drift": {"min_samples": 50},
              "anomaly": {"min_history": 8}},
    "interactions": {"min_impressions": 100, "reference": {"click_through_rate": 0.2, "conversion_rate": 0.05}},
})[0]


def _rows(n: int, rng: np.random.Generator, *, shift: float, accuracy: float) -> pd.DataFrame:
    """Logged predictions: features, a score, the prediction and its label (right ``accuracy`` of the time)."""
    label = rng.integers(0, 2, n)
    correct = rng.random(n) < accuracy
    prediction = np.where(correct, label, 1 - label)
    score = np.clip(np.where(prediction == 1, 0.75, 0.25) + rng.normal(0, 0.1, n), 0.01, 0.99)
    return pd.DataFrame({
        "request_id": [f"r{i}" for i in range(n)], "ts": pd.Timestamp("2024-05-02", tz="UTC"),
        "version": "v1", "latency_ms": 10.0, "status": "ok",
        "income": rng.normal(50 + 30 * shift, 10, n), "age": rng.normal(40, 5 + 10 * shift, n),
        "plan": rng.choice(["basic", "pro"] if not shift else ["basic", "pro", "trial"], n),
        "score": score, "prediction": prediction, "label": label,
    })


def _broken_context(spec: ModelSpec = SPEC) -> WindowContext:
    """A window that is wrong in every way a rule can see, against a clean reference."""
    rng = np.random.default_rng(7)
    reference = _rows(800, rng, shift=0.0, accuracy=0.9)
    window = _rows(400, rng, shift=1.0, accuracy=0.55)
    window.loc[window.index[:80], "income"] = None
    profile, baseline = build_profile(reference, spec)
    realised = evaluate(window["label"].tolist(), window["prediction"].tolist(), spec.task,
                        scores=window["score"].tolist())
    segments = {}
    for value, part in window.groupby("plan"):
        kpis = evaluate(part["label"].tolist(), part["prediction"].tolist(), spec.task).kpis
        segments[f"plan={value}"] = SegmentKpis(kpis=kpis, labelled_rows=len(part),
                                                baseline=profile["segments"].get(f"plan={value}", {}).get("kpis", {}))
    history = {"recall": [(f"run{i}", 0.8 + 0.005 * (i % 3)) for i in range(20)] + [("now", 0.2)]}
    return WindowContext(
        spec=spec, window=window, frame=window_frame(window, spec), kpis=realised.kpis,
        # few labels in the window as a whole, so the estimated rules run; the segments have plenty
        labelled_rows=30, baseline=baseline.kpis, segments=segments, estimated=_estimated(window, spec, profile),
        service={"latency_p95_ms": 900.0, "error_rate": 0.2, "throughput_rpm": 3.0, "availability": 0.4,
                 "host_cpu_pct_p95": 99.0, "host_memory_pct_p95": 97.0},
        interactions=InteractionCounts(impressions=1000, clicks=40, conversions=5).to_json(),
        drift_reference=build_drift_reference(reference, spec), reference_sample=pd.DataFrame(profile["sample"]),
        quality_stats=profile["quality"], quarantined=200, kpi_history=history)


def _estimated(window: pd.DataFrame, spec: ModelSpec, profile: dict) -> dict:
    """The CBPE estimate of a window whose scores say it is much worse than the reference."""
    worse = window.assign(score=np.where(window["prediction"] == 1, 0.55, 0.45))
    return estimate_window(worse, spec, profile["calibration"])


@pytest.fixture(scope="module")
def broken() -> WindowContext:
    return _broken_context()


@pytest.fixture(scope="module", params=NAMES)
def family(request) -> type[Rule]:
    return RULES.get(request.param)


def test_the_family_holds_every_rule_the_detect_stage_ran():
    assert set(NAMES) >= {"performance", "estimated_performance", "service_slo", "interaction_drop", "drift",
                          "variance_change", "multivariate_drift", "data_quality", "kpi_anomaly"}


def test_a_rule_is_registered_under_its_name_with_a_docstring(family):
    assert issubclass(family, Rule)
    assert family.name in NAMES and RULES.get(family.name) is family
    assert (family.__doc__ or "").strip()
    assert family.kinds and set(family.kinds) <= set(finding_kinds())
    assert family.rule_names() and set(family.rule_names()) <= set(rule_names())


def test_a_rule_reads_only_spec_fields_that_exist(family):
    assert family.fields, f"{family.name} declares no spec fields"
    for path in family.fields:
        target = ModelSpec(name="m", task="binary_classification")
        for part in path.split("."):
            assert hasattr(target, part), f"{family.name}: spec has no field {path!r}"
            target = getattr(target, part)


def test_findings_are_well_formed_and_survive_json(family, broken):
    findings = family().evaluate(broken)
    assert findings, f"{family.name} said nothing about a window broken in every way"
    for finding in findings:
        assert isinstance(finding, Finding)
        assert finding.rule in family.rule_names() and finding.kind in family.kinds
        assert finding.status in STATUSES and finding.severity in SEVERITIES
        assert isinstance(finding.message, str) and finding.message
        assert isinstance(finding.segment, str)
        back = Finding.from_json(json.loads(json.dumps(finding.to_json())))
        assert _same(back.to_json(), finding.to_json()), finding


def test_a_window_broken_in_every_way_fires_every_rule(family, broken):
    assert any(f.status == "firing" for f in family().evaluate(broken)), family.name


def test_the_detection_summary_is_json(family, broken):
    rule = family()
    summary = rule.summary(broken, rule.evaluate(broken))
    if family.detection_key is None:
        assert summary is None
    else:
        assert summary, f"{family.name} fired but its {family.detection_key!r} summary is empty"
        assert _same(json.loads(json.dumps(summary)), summary)


@pytest.mark.parametrize("context", ["empty", "tiny"])
def test_without_enough_data_a_rule_never_fires(family, context, broken):
    if context == "empty":
        ctx = WindowContext(SPEC)
    else:  # five rows of everything, and too few impressions and history points
        window = broken.window.iloc[:5]
        ctx = WindowContext(
            SPEC, window=window, frame=window_frame(window, SPEC), kpis=broken.kpis, labelled_rows=5,
            baseline=broken.baseline, segments={}, estimated=None, service={},
            interactions=InteractionCounts(impressions=5, clicks=0, conversions=0).to_json(),
            drift_reference=broken.drift_reference, reference_sample=broken.reference_sample.iloc[:5],
            quality_stats=None, kpi_history={"recall": broken.kpi_history["recall"][-3:]})
    findings = family().evaluate(ctx)
    assert all(f.status != "firing" for f in findings), findings


def test_the_detect_stage_runs_every_rule_in_order(broken):
    detection = run_rules(broken)
    fired = {f.rule for f in detection.findings if f.status == "firing"}
    for name in NAMES:
        assert fired & set(RULES.get(name).rule_names()), f"{name} did not fire through run_rules"
    order = [RULES.get(n).order for n in NAMES]
    assert len(set(order)) == len(order), "two rules share an order: the findings' order would be arbitrary"
    assert set(detection.summaries) == {RULES.get(n).detection_key for n in NAMES} - {None}


def _same(a, b) -> bool:
    """Equal after JSON, where NaN stays NaN and tuples become lists."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b
