"""The joint-drift classifier runs on its cadence (``rules.drift.joint``): not when the cadence
says no, always when a single-feature test fires on the window, on every N-th check otherwise,
each model from its own offset so a fleet's classifiers do not all run in the same cycle."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from monitor.detect.findings import Finding
from monitor.detect.rule import WindowContext, run_rules
from monitor.detect.rules.multivariate import MultivariateDrift, joint_drift_due, joint_drift_offset
from monitor.reference import build_drift_reference
from monitor.spec import ModelSpec


def _frame(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    return pd.DataFrame({"a": rng.normal(loc=shift, size=n), "b": rng.normal(size=n),
                         "prediction": rng.integers(0, 2, n), "label": rng.integers(0, 2, n)})


def _spec(**joint) -> ModelSpec:
    return ModelSpec(name="m", task="binary_classification", columns={"numeric": ["a", "b"]},
                     rules={"drift": {"joint": joint}})


def _context(spec: ModelSpec, *, shift: float = 0.0, check_number: int | None = None, earlier=()) -> WindowContext:
    rng = np.random.default_rng(0)
    reference, window = _frame(rng, 400, 0.0), _frame(rng, 400, shift)
    return WindowContext(spec, window=window, frame=window[["a", "b"]], reference_sample=reference[["a", "b"]],
                         drift_reference=build_drift_reference(reference, spec), check_number=check_number,
                         earlier=tuple(earlier))


def _fired(kind: str = "data_drift") -> Finding:
    return Finding(rule=kind, kind=kind, status="firing", segment="feature=a", message="a drifted")


def test_default_is_every_sixth_check_or_when_a_feature_fires():
    joint = ModelSpec(name="m", task="binary_classification").rules.drift.joint
    assert (joint.run, joint.every) == ("every_n_checks", 6)


@pytest.mark.parametrize("check_number, runs", [(1, False), (2, False), (3, True), (4, False), (6, True), (9, True),
                                                 (None, True)])
def test_every_n_checks_runs_on_the_cadence_only(check_number, runs):
    assert joint_drift_offset("m", 3) == 2  # model "m" takes the third of every three checks
    findings = MultivariateDrift().evaluate(_context(_spec(every=3), check_number=check_number))
    assert [f.rule for f in findings] == (["multivariate_drift"] if runs else [])


def test_a_fleet_registered_at_once_spreads_its_classifiers_over_the_cadence():
    """600 models whose checks are numbered alike (registered together): each check cycle runs
    about a sixth of the classifiers, and every model runs its own exactly once in any six checks."""
    specs = [ModelSpec(name=f"fleet-{i:05d}", task="binary_classification") for i in range(600)]
    due = {n: [joint_drift_due(WindowContext(spec, check_number=n)) for spec in specs] for n in range(1, 13)}
    for n in range(1, 13):
        assert 70 <= sum(due[n]) <= 130, (n, sum(due[n]))
    for start in (1, 4, 7):
        assert all(sum(due[n][i] for n in range(start, start + 6)) == 1 for i in range(len(specs)))
    assert set(Counter(joint_drift_offset(spec.name, 6) for spec in specs)) == set(range(6))


def test_a_models_offset_is_the_same_in_every_worker_process():
    """Not ``hash()``, which Python salts per process: two workers must agree on a model's turn."""
    code = ("from monitor.detect.rules.multivariate import joint_drift_offset as o; "
            "print([o(f'model-{i}', 6) for i in range(40)])")
    seen = {subprocess.run([sys.executable, "-c", code], env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2")}
    assert len(seen) == 1 and seen == {f"{[joint_drift_offset(f'model-{i}', 6) for i in range(40)]}\n"}


def test_a_firing_feature_test_runs_it_off_cadence():
    spec = _spec(every=3)
    assert MultivariateDrift().evaluate(_context(spec, check_number=2)) == []
    assert MultivariateDrift().evaluate(_context(spec, check_number=2, earlier=[_fired("prediction_drift")])) == []
    ran = MultivariateDrift().evaluate(_context(spec, check_number=2, earlier=[_fired()]))
    assert [f.rule for f in ran] == ["multivariate_drift"]


def test_on_feature_drift_runs_only_when_a_feature_fires():
    spec = _spec(run="on_feature_drift")
    assert MultivariateDrift().evaluate(_context(spec, check_number=1)) == []
    ok = Finding(rule="data_drift", kind="data_drift", status="ok", segment="feature=a", message="fine")
    assert MultivariateDrift().evaluate(_context(spec, check_number=1, earlier=[ok])) == []
    assert len(MultivariateDrift().evaluate(_context(spec, check_number=1, earlier=[_fired()]))) == 1


def test_always_runs_on_every_check():
    assert all(len(MultivariateDrift().evaluate(_context(_spec(run="always"), check_number=n))) == 1 for n in (2, 3))


def test_run_rules_hands_the_drift_rules_findings_to_the_joint_rule():
    """Through the real rule order: the per-feature drift rule fires on a shifted column, so the
    joint rule runs on a check the cadence alone would skip; on an unshifted window it does not."""
    spec = _spec(run="on_feature_drift")
    shifted = run_rules(_context(spec, shift=1.5, check_number=2)).findings
    assert any(f.rule == "data_drift" and f.status == "firing" for f in shifted)
    assert [f.status for f in shifted if f.rule == "multivariate_drift"] == ["firing"]
    calm = run_rules(_context(spec, shift=0.0, check_number=2)).findings
    assert not any(f.rule == "data_drift" and f.status == "firing" for f in calm)
    assert [f for f in calm if f.rule == "multivariate_drift"] == []


def test_bad_cadence_is_a_clear_spec_error():
    with pytest.raises(ValidationError, match="run"):
        _spec(run="sometimes")
    with pytest.raises(ValidationError, match="every"):
        _spec(every=0)


def test_docstring_examples():
    import doctest

    import monitor.detect.rules.multivariate as module

    result = doctest.testmod(module)
    assert result.attempted >= 2 and result.failed == 0
