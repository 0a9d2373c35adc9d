"""The CBPE calibrator is fitted once per worker process and calibration, not on every check, and
the estimate is the one a fresh fit gives; reading one model output of a window view converts only
that output."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitor.detect.frames import window_frame
from monitor.detect.rules import estimated
from monitor.estimation import Calibrator, estimate
from monitor.logstore.columns import ColumnFrame
from monitor.reference import PREDICTION, SCORE
from monitor.spec import parse_spec

SPEC = parse_spec({"name": "m", "task": "binary_classification", "columns": {"numeric": ["x"]}}, "test")[0]


def _calibration(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    scores = rng.random(500)
    return {"scores": np.round(scores, 6).tolist(), "labels": (rng.random(500) < scores).astype(int).tolist()}


def test_the_calibrator_is_fitted_once_per_calibration_and_estimates_as_a_fresh_fit(monkeypatch):
    fits = []
    real = Calibrator.fit

    def counting(self, *args, **kwargs):
        fits.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Calibrator, "fit", counting)
    estimated._calibrator.cache_clear()
    rng = np.random.default_rng(1)
    window = pd.DataFrame({"score": rng.random(2000), "prediction": rng.integers(0, 2, 2000)})
    calibration = _calibration(2)
    first = estimated.estimate_window(window, SPEC, calibration)
    again = estimated.estimate_window(window, SPEC, {key: list(values) for key, values in calibration.items()})
    assert first == again and len(fits) == 1  # an equal calibration (another object): no refit
    fresh = Calibrator().fit(calibration["scores"], calibration["labels"], positive_label=1)
    expected = estimate(window["score"].to_numpy(), calibrator=fresh, predictions=window["prediction"].to_numpy() == 1,
                        positive_label=True).to_json()
    assert first == expected
    estimated.estimate_window(window, SPEC, _calibration(3))  # another reference's calibration
    assert len(fits) == 3  # (the fresh fit above counted too)


def test_reading_one_output_of_a_view_converts_only_that_output():
    read = []

    def column(name, values):
        return lambda: read.append(name) or pd.Series(values)

    view = ColumnFrame(3, {"x": column("x", [1.0, 2.0, 3.0]), "prediction": column("prediction", [1, 0, 1]),
                           "score": column("score", [0.9, 0.2, 0.7])})
    frame = window_frame(view, SPEC)
    assert frame[SCORE].tolist() == [0.9, 0.2, 0.7] and read == ["score"]
    assert frame[PREDICTION].tolist() == ["1", "0", "1"] and read == ["score", "prediction"]
