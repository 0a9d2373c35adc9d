"""``monitor.report(reference, current, spec=...)``: the check's KPIs, drift, findings and HTML
report from two DataFrames, with no server, database or broker."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import monitor
from monitor.errors import SpecError
from monitor.spec import ModelSpec


def frame(n: int, seed: int, shift: float = 0.0, noise: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    label = (x + rng.normal(0, 1, n) > 0).astype(int)
    score = 1 / (1 + np.exp(-x))
    prediction = np.where(rng.random(n) < noise, 1 - (score > 0.5), score > 0.5).astype(int)
    return pd.DataFrame({"income": x, "age": rng.normal(40, 5, n), "region": rng.choice(["EU", "US"], n),
                         "label": label, "prediction": prediction, "score": score})


@pytest.fixture(scope="module")
def shifted():
    return monitor.report(frame(1500, 0), frame(1500, 1, shift=1.0, noise=0.3), spec={"name": "churn"})


def test_columns_and_task_are_inferred(shifted):
    columns = shifted.spec.columns
    assert shifted.spec.task.value == "binary_classification"
    assert (columns.numeric, columns.categorical) == (["income", "age"], ["region"])
    assert (columns.label, columns.prediction, columns.score) == ("label", "prediction", "score")


def test_kpis_match_the_check_function_and_carry_the_change_verdict(shifted):
    from monitor.kpis import evaluate

    current = frame(1500, 1, shift=1.0, noise=0.3)
    expected = evaluate(current["label"].tolist(), current["prediction"].tolist(), shifted.spec.task,
                        scores=current["score"].tolist(), positive_label=1).kpis
    assert shifted.kpis["accuracy"]["value"] == pytest.approx(expected["accuracy"])
    assert shifted.kpis["accuracy"]["verdict"] == "worse" and shifted.kpis["accuracy"]["change_pct"] < 0


def test_shifted_feature_drifts_and_fires(shifted):
    drift = shifted.drift.set_index("column")
    assert bool(drift.loc["income", "drifted"]) and not bool(drift.loc["age", "drifted"])
    findings = shifted.findings
    assert isinstance(findings, pd.DataFrame) and findings.equals(shifted.to_dataframe())
    firing = findings[findings.status == "firing"]
    assert {"accuracy_drop", "data_drift"} <= set(firing.rule)
    assert "feature=income" in set(firing.segment) and "feature=age" not in set(firing.segment)
    assert shifted.firing


def test_same_distribution_is_quiet():
    quiet = monitor.report(frame(1500, 0), frame(1500, 1))
    firing = quiet.findings[quiet.findings.status == "firing"]
    assert not set(firing.rule) & {"accuracy_drop", "data_drift", "prediction_drift"}


def test_html_and_json_outputs(shifted, tmp_path):
    html = shifted._repr_html_()
    assert html.startswith("<!DOCTYPE html>") and '<section id="drift">' in html and "churn" in html
    assert "__score__" not in html
    assert shifted.save_html(tmp_path / "r.html").read_text() == html
    saved = json.loads(shifted.save_json(tmp_path / "r.json").read_text())
    assert saved["model"] == "churn" and saved["kpis"]["accuracy"]["verdict"] == "worse"


def test_spec_as_model_spec_dict_or_yaml(tmp_path):
    reference, current = frame(600, 0), frame(600, 1)
    spec = ModelSpec(name="m", task="binary_classification", columns={"numeric": ["income"]})
    assert monitor.report(reference, current, spec).drift["column"].tolist() == ["income", "__score__",
                                                                               "__prediction__"]
    path = tmp_path / "spec.yaml"
    path.write_text("models:\n  - name: y\n    task: binary_classification\n    columns: {numeric: [age]}\n")
    assert monitor.report(reference, current, path).spec.name == "y"


def test_regression_is_inferred_and_bad_input_is_named():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 400)
    data = pd.DataFrame({"x": x, "target": x * 2 + rng.normal(0, 0.1, 400), "y_pred": x * 2})
    result = monitor.report(data, data)
    assert result.spec.task.value == "regression" and "rmse" in result.kpis
    with pytest.raises(SpecError, match="columns.label"):
        monitor.report(data.drop(columns="target"), data)
    with pytest.raises(SpecError, match=r"current data lacks column\(s\) \['x'\]"):
        monitor.report(data, data.drop(columns="x"), {"columns": {"numeric": ["x"], "label": "target",
                                                                  "prediction": "y_pred", "score": None}})
    with pytest.raises(TypeError, match="reference must be a pandas DataFrame"):
        monitor.report([1, 2], data)
