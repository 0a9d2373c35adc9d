"""A window read column by column (``monitor.logstore.columns``) is the window read whole: the same
rows, order, types and labels, and the drift and quality rules find the same things on it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from monitor.detect.frames import window_frame
from monitor.detect.rule import WindowContext
from monitor.detect.rules.drift import Drift
from monitor.detect.rules.quality import DataQuality
from monitor.logstore import LostSegment, columns, files, tables, window
from monitor.reference import build_drift_reference, build_profile
from monitor.spec import parse_spec

NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
START, END = NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=1)


class Segment:
    def __init__(self, id: int, written: files.SegmentFile):
        self.id, self.location, self.checksum, self.bytes = id, written.location, written.checksum, written.bytes


def _segment(tmp_path, id: int, kind: str, rows: list[dict]) -> Segment:
    return Segment(id, files.write_segment(str(tmp_path), 1, kind, tables.table_from_rows(kind, rows)))


def _whole(predictions, labels, start=START, end=END, version=None) -> pd.DataFrame:
    table, _ = window.read_predictions(predictions, start, end, version)
    return window.to_frame(window.join_labels(table, window.read_labels(labels)))


def test_the_columns_doctest_holds():
    assert doctest.testmod(columns).failed == 0


def test_a_window_by_columns_equals_the_window_read_whole(tmp_path):
    first = _segment(tmp_path, 1, "predictions", [
        {"request_id": "a", "ts": NOW, "prediction": 1, "score": 0.9, "features": {"x": 1, "city": "Oslo"}},
        {"request_id": "old", "ts": NOW - dt.timedelta(days=2), "prediction": 0, "features": {"x": "stale"}},
        {"request_id": "c", "ts": NOW, "prediction": 1, "version": "v2", "features": {"x": 3}}])
    second = _segment(tmp_path, 2, "predictions", [  # a feature sent as text here, a repeat of "a"
        {"request_id": "a", "ts": NOW, "prediction": 0, "features": {"x": "high"}},
        {"request_id": "b", "ts": NOW, "prediction": 0, "features": {"x": 2.5, "y": 7}}])
    third = _segment(tmp_path, 3, "predictions", [{"request_id": "d", "ts": NOW, "prediction": 1, "score": 0.2}])
    labels = [_segment(tmp_path, 4, "labels", [{"request_id": "b", "label": 1}]),
              _segment(tmp_path, 5, "labels", [{"request_id": "b", "label": 0}, {"request_id": "d", "label": 0}])]
    for version in (None, "v2"):
        predictions = [third, second, first]
        expected = _whole(predictions, labels, version=version)
        opened = columns.open_window(predictions, labels, START, END, version)
        pd.testing.assert_frame_equal(opened.frame(), expected)
        assert opened.rows == len(expected)
        _, row_ids = window.read_predictions(predictions, START, END, version)
        assert list(opened.row_ids) == list(row_ids)
        for name in expected.columns:  # column by column, and through the view, as the rules read it
            pd.testing.assert_series_equal(opened.view()[name], expected[name])
    assert list(columns.open_window([third, second, first], labels, START, END, None).frame()["label"]) == \
        [None, None, 1, 0]  # a, c (segment 1), b (2), d (3)


def test_a_window_of_no_segments_is_empty_with_the_layout():
    opened = columns.open_window([], [], START, END, None)
    assert opened.rows == 0 and list(opened.frame().columns) == [*tables.BASE_PREDICTION, "label"]


def test_a_segment_deleted_after_the_window_was_opened_fails_the_column_read(tmp_path):
    segment = _segment(tmp_path, 1, "predictions", [{"request_id": "a", "ts": NOW, "prediction": 1, "features": {"x": 1}}])
    opened = columns.open_window([segment], [], START, END, None, whole_up_to=0)  # read by columns
    files.delete_segment(segment.location)
    with pytest.raises(LostSegment, match="log segment 1 at .* is missing"):
        opened.column("x")


def _counting(monkeypatch) -> Counter:
    """How often each of the segment file readers ``columns`` uses is called."""
    calls: Counter = Counter()
    for name in ("read_segment", "read_verified_columns", "verify_segment"):
        def counted(*args, _real=getattr(columns, name), _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(columns, name, counted)
    return calls


def test_a_small_window_reads_each_file_once_and_equals_the_window_read_by_columns(tmp_path, monkeypatch):
    first = _segment(tmp_path, 1, "predictions", [
        {"request_id": "a", "ts": NOW, "prediction": 1, "score": 0.9, "features": {"x": 1, "city": "Oslo"}},
        {"request_id": "old", "ts": NOW - dt.timedelta(days=2), "prediction": 0, "features": {"x": "stale"}},
        {"request_id": "c", "ts": NOW, "prediction": 1, "version": "v2", "features": {"x": 3}}])
    second = _segment(tmp_path, 2, "predictions", [
        {"request_id": "a", "ts": NOW, "prediction": 0, "features": {"x": "high"}},
        {"request_id": "b", "ts": NOW, "prediction": 0, "features": {"x": 2.5, "y": 7}}])
    labels = [_segment(tmp_path, 3, "labels", [{"request_id": "b", "label": 1}])]
    calls = _counting(monkeypatch)
    for version in (None, "v2"):
        by_columns = columns.open_window([second, first], labels, START, END, version, whole_up_to=0)
        expected = by_columns.frame()
        pd.testing.assert_frame_equal(expected, _whole([second, first], labels, version=version))
        calls.clear()
        small = columns.open_window([second, first], labels, START, END, version)
        assert list(small.row_ids) == list(by_columns.row_ids)
        for name in expected.columns:
            pd.testing.assert_series_equal(small.view()[name], expected[name])
            pd.testing.assert_series_equal(small.column(name), expected[name])
        pd.testing.assert_frame_equal(small.frame(), expected)
        # each prediction file verified and decoded in one read, the label file in its own
        assert calls == {"read_segment": 2}, calls


def test_a_small_window_keeps_serving_the_rows_it_verified_after_a_file_is_deleted(tmp_path):
    segment = _segment(tmp_path, 1, "predictions", [{"request_id": "a", "ts": NOW, "prediction": 1, "features": {"x": 1}}])
    opened = columns.open_window([segment], [], START, END, None)
    files.delete_segment(segment.location)
    assert opened.column("x").tolist() == [1.0]  # decoded from the verified bytes when it was opened
    changed = _segment(tmp_path, 2, "predictions", [{"request_id": "a", "ts": NOW, "prediction": 1}])
    changed.checksum = "0" * 64
    with pytest.raises(LostSegment, match="does not match its sha256"):  # verified before it is decoded
        columns.open_window([changed], [], START, END, None)


def _drifted_window(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(n, shift):
        return pd.DataFrame({"n0": np.where(rng.random(n) < 0.02 + shift, np.nan, rng.normal(shift, 1, n)), "n1": rng.normal(0, 1 + shift, n),
                             "c0": rng.choice(["a", "b", "c"], n), "c1": rng.choice(["x", "y"], n, p=[0.5 + shift / 4, 0.5 - shift / 4]),
                             "prediction": rng.integers(0, 2, n), "score": rng.random(n)})
    return frame(rows, 0.0), frame(rows, 0.4)


def test_drift_and_quality_find_the_same_on_a_view_as_on_a_frame(tmp_path):
    reference, current = _drifted_window(3000, 1)
    spec = parse_spec({"name": "m", "task": "binary_classification",
                       "columns": {"numeric": ["n0", "n1"], "categorical": ["c0", "c1"], "segments": ["c0"]}},
                      "test")[0]
    profile, _ = build_profile(reference.assign(label=reference["prediction"]), spec)
    drift_reference = build_drift_reference(reference.assign(label=reference["prediction"]), spec)
    rows = [{"request_id": f"r{i}", "ts": NOW, "prediction": int(r.prediction), "score": float(r.score),
             "features": {"n0": r.n0, "n1": r.n1, "c0": r.c0, "c1": r.c1}} for i, r in enumerate(current.itertuples())]
    segments = [_segment(tmp_path, i + 1, "predictions", rows[i * 1000:(i + 1) * 1000]) for i in range(3)]
    opened = columns.open_window(segments, [], START, END, None)
    whole = opened.frame()
    base = WindowContext(spec=spec, drift_reference=drift_reference, quality_stats=profile.get("quality"))
    on_frame = dataclasses.replace(base, window=whole, frame=window_frame(whole, spec))
    on_view = dataclasses.replace(base, window=opened.view(), frame=window_frame(opened.view(), spec))
    for family in (Drift, DataQuality):
        on_view_rule = family()
        expected, found = family().evaluate(on_frame), on_view_rule.evaluate(on_view)
        assert [f.to_json() for f in found] == [f.to_json() for f in expected]
        # a fresh rule's summary draws the charts on its own (the old path); the one that evaluated
        # the view drew them in its pass over the columns
        assert on_view_rule.summary(on_view, found) == family().summary(on_frame, expected)
    assert set(DataQuality().summary(on_frame, DataQuality().evaluate(on_frame))["histograms"]) == {"n0", "n1", "c0", "c1"}
    drift = Drift().evaluate(on_view)
    assert any(f.status == "firing" for f in drift) and any(f.segment.startswith("c0=b,") for f in drift)


@pytest.mark.parametrize("seed", range(6))
def test_roc_auc_and_log_loss_equal_scikit_learn(seed):
    from sklearn import metrics

    from monitor.kpis.classification import log_loss, roc_auc

    rng = np.random.default_rng(seed)
    n = [50, 1000, 20_000][seed % 3]
    y = rng.integers(0, 2, n)
    scores = rng.random(n) if seed < 3 else np.round(rng.random(n), 1)  # ties from seed 3 on
    probabilities = np.clip(scores, 1e-15, 1 - 1e-15)
    assert roc_auc(y, scores) == pytest.approx(metrics.roc_auc_score(y, scores), rel=0, abs=1e-12)
    assert log_loss(y, probabilities) == pytest.approx(metrics.log_loss(y, probabilities, labels=[0, 1]),
                                                       rel=1e-12, abs=1e-12)


def test_decoded_columns_are_kept_up_to_the_cache_budget_and_read_again_past_it(tmp_path):
    rows = [{"request_id": f"r{i}", "ts": NOW, "prediction": 1, "features": {"a": float(i), "b": -float(i)}}
            for i in range(1000)]
    segment = _segment(tmp_path, 1, "predictions", rows)
    opened = columns.open_window([segment], [], START, END, None, cache_bytes=8000)  # one float column
    assert opened.column("a") is opened.column("a")
    assert opened.column("b") is not opened.column("b")  # past the budget: read from the segment again
    assert opened.column("b").tolist() == [-float(i) for i in range(1000)]


def test_a_drift_reference_viewed_in_its_bundle_equals_the_decoded_one():
    from monitor.drift.npz import npz_views
    from monitor.drift.reference import DriftReference
    from monitor.reference import unpack

    reference, _ = _drifted_window(2000, 3)
    spec = parse_spec({"name": "m", "task": "binary_classification",
                       "columns": {"numeric": ["n0", "n1"], "categorical": ["c0", "c1"], "segments": ["c0"]}},
                      "test")[0]
    bundle = build_drift_reference(reference.assign(label=reference["prediction"]), spec)
    views, blobs = npz_views(bundle), unpack(bundle)
    assert set(views) == set(blobs) and len(blobs) > 1
    for key, blob in blobs.items():
        decoded, viewed = DriftReference.from_bytes(blob), DriftReference.view_bytes(views[key])
        assert list(viewed.columns) == list(decoded.columns)
        for name, column in decoded.columns.items():
            for attribute, value in vars(column).items():
                other = vars(viewed.columns[name])[attribute]
                if isinstance(value, np.ndarray):
                    assert np.array_equal(other, value, equal_nan=value.dtype.kind == "f")
                    assert not other.flags.writeable  # a view of the bundle, not a copy
                else:
                    assert other == value or (value != value and other != other)


@pytest.mark.parametrize("task", ["binary_classification", "regression"])
def test_the_outputs_of_a_view_equal_those_of_the_drift_frame(task):
    """``window_frame`` of a view converts each output alone (``reference.output_column``),
    exactly as ``drift_frame`` converts the frame's."""
    from monitor.detect.frames import window_frame
    from monitor.reference import PREDICTION, SCORE

    spec = parse_spec({"name": "m", "task": task, "columns": {"numeric": ["x"]}}, "test")[0]
    frame = pd.DataFrame({"x": [1.0, 2.0, None, 4.0], "prediction": [1.0, 0.0, None, 2.5],
                          "score": [0.5, None, 0.25, 1.0]})
    view = columns.ColumnFrame(len(frame), {name: (lambda name=name: frame[name]) for name in frame.columns})
    expected, derived = window_frame(frame, spec), window_frame(view, spec)
    for name in (PREDICTION, SCORE):
        pd.testing.assert_series_equal(derived[name], expected[name])
