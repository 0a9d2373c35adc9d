"""KPI-history anomaly detectors: a jump or a slide is flagged, noise mostly is not, state resumes."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pytest

import monitor.anomaly
from monitor.anomaly import CUSUM, DETECTORS, EWMA, PageHinkley, make_detector, resume, scan
from monitor.anomaly import cusum, ewma, page_hinkley

METHODS = sorted(DETECTORS)


def noisy_kpi(seed: int, n: int, level: float = 0.9, noise: float = 0.01) -> np.ndarray:
    return np.random.default_rng(seed).normal(level, noise, n)


@pytest.mark.parametrize("method", METHODS)
def test_step_change_is_flagged_within_a_few_points(method):
    history = noisy_kpi(seed=3, n=60)
    history[40:] -= 0.05  # a five-sigma drop of accuracy
    flags = scan(history, method)
    assert not [i for i in flags if i < 40], "no false alarm before the step in this seeded history"
    assert flags and 40 <= flags[0] <= 43


@pytest.mark.parametrize("method", ["page_hinkley", "cusum"])
def test_slow_slide_of_one_percent_per_step_is_flagged(method):
    rng = np.random.default_rng(11)
    steps = np.arange(80)
    history = 100 * (1 - 0.01 * np.clip(steps - 20, 0, None)) + rng.normal(0, 2, len(steps))
    flags = scan(history, method)
    assert not [i for i in flags if i < 20]
    assert flags and flags[0] <= 20 + 12


def test_page_hinkley_direction_option():
    rising = [10.0 + (0.1 * np.sin(i)) for i in range(10)] + [10.0 + 0.5 * i for i in range(1, 15)]
    assert scan(rising, "page_hinkley", mode="up")
    assert scan(rising, "page_hinkley", mode="both")
    assert not scan(rising, "page_hinkley", mode="down")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(5))
def test_stationary_noise_yields_at_most_a_couple_of_flags(method, seed):
    assert len(scan(noisy_kpi(seed, 200), method)) <= 2


@pytest.mark.parametrize("method", METHODS)
def test_state_round_trip_resumes_identically(method):
    history = noisy_kpi(seed=5, n=120)
    history[70:] += 0.04
    uninterrupted = make_detector(method)
    expected = [uninterrupted.update(v) for v in history]

    first = make_detector(method)
    flags = [first.update(v) for v in history[:55]]
    saved = json.loads(json.dumps(first.state))  # through JSON, as the store keeps it
    second = resume(saved)
    flags += [second.update(v) for v in history[55:]]

    assert flags == expected
    assert second.state == uninterrupted.state
    assert type(DETECTORS[method].from_state(saved)) is DETECTORS[method]


def test_from_state_refuses_another_method():
    with pytest.raises(ValueError, match="cannot resume"):
        CUSUM.from_state(EWMA().state)


def test_missing_values_are_skipped():
    with_gaps = make_detector("cusum")
    without = make_detector("cusum")
    values = list(noisy_kpi(seed=1, n=30))
    for v in values[:10]:
        with_gaps.update(v)
        without.update(v)
    assert with_gaps.update(None) is False
    assert with_gaps.update(math.nan) is False
    for v in values[10:]:
        assert with_gaps.update(v) == without.update(v)
    assert with_gaps.state["variables"]["seen"] == without.state["variables"]["seen"]


def test_constant_warmup_still_detects_a_drop():
    assert scan([1.0] * 8 + [0.9, 0.9], "ewma") == [8]


def test_one_change_raises_one_flag_then_the_new_level_is_the_baseline():
    history = np.r_[noisy_kpi(seed=2, n=40), noisy_kpi(seed=4, n=60, level=0.8)]
    assert len(scan(history, "cusum")) == 1


def test_registry_and_parameters():
    assert DETECTORS == {"ewma": EWMA, "page_hinkley": PageHinkley, "cusum": CUSUM}
    assert make_detector("ewma", lambda_=0.2, L=2.5).state["params"] == {"lambda_": 0.2, "L": 2.5, "warmup": 5}
    with pytest.raises(ValueError, match="unknown anomaly method 'shewhart'"):
        scan([1.0, 2.0], "shewhart")
    with pytest.raises(ValueError, match="lambda_"):
        EWMA(lambda_=0)
    with pytest.raises(ValueError, match="mode"):
        PageHinkley(mode="sideways")
    with pytest.raises(ValueError, match="warmup"):
        CUSUM(warmup=1)


def test_drift_detected_reports_the_last_update():
    detector = EWMA()
    for value in [5.0, 5.1, 4.9, 5.0, 5.1, 5.0]:
        detector.update(value)
    assert detector.update(9.0) and detector.drift_detected
    assert not detector.update(9.0) and not detector.drift_detected


@pytest.mark.parametrize("module", [monitor.anomaly, ewma, cusum, page_hinkley])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted and not result.failed
