"""The log store's pure parts: the Arrow layout, reading segments back, dedup and the label join."""

from __future__ import annotations

import datetime as dt
import doctest

import pyarrow as pa
import pytest

from monitor.logstore import LostSegment, files, tables, window
from monitor.logstore.legacy import clean, problem

NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)


class Segment:
    def __init__(self, id: int, written: files.SegmentFile):
        self.id, self.location, self.checksum, self.bytes = id, written.location, written.checksum, written.bytes


def _segment(tmp_path, id: int, kind: str, rows: list[dict]) -> Segment:
    return Segment(id, files.write_segment(str(tmp_path), 1, kind, tables.table_from_rows(kind, rows)))


def test_the_layout_doctest_holds():
    assert doctest.testmod(tables).failed == 0


@pytest.mark.parametrize(("values", "expected"), [
    ([1, 2, None], pa.int64()), ([True, False], pa.bool_()), ([1, 2.5], pa.float64()),
    (["spam", 1], pa.string()), ([True, 1], pa.string()),
])
def test_class_values_are_typed_by_the_whole_batch(values, expected):
    assert tables.value_type(values) == expected


def test_a_window_across_segments_keeps_the_first_row_and_the_first_label(tmp_path):
    first = _segment(tmp_path, 1, "predictions", [
        {"request_id": "a", "ts": NOW, "prediction": 1, "features": {"x": 1, "city": "Oslo"}},
        {"request_id": "old", "ts": NOW - dt.timedelta(days=2), "prediction": 0}])
    second = _segment(tmp_path, 2, "predictions", [  # a feature sent as text here, a repeat of "a"
        {"request_id": "a", "ts": NOW, "prediction": 0, "features": {"x": "high"}},
        {"request_id": "b", "ts": NOW, "prediction": 0, "features": {"x": 2.5}}])
    labels = [_segment(tmp_path, 3, "labels", [{"request_id": "b", "label": 1}]),
              _segment(tmp_path, 4, "labels", [{"request_id": "b", "label": 0}, {"request_id": "z", "label": 1}])]
    table, row_ids = window.read_predictions([second, first], NOW - dt.timedelta(hours=1), NOW + dt.timedelta(1), None)
    frame = window.to_frame(window.join_labels(table, window.read_labels(labels)))
    assert list(frame["request_id"]) == ["a", "b"] and list(frame["prediction"]) == [1, 0]
    assert list(frame["x"]) == ["1", "2.5"]  # numbers and text in one feature: text (Arrow renders 1.0 as "1")
    assert list(frame["label"]) == [None, 1]
    assert list(row_ids) == [1 * window.ROWS_PER_ID, 2 * window.ROWS_PER_ID + 1]


def test_reading_refuses_a_missing_or_altered_file(tmp_path):
    segment = _segment(tmp_path, 7, "labels", [{"request_id": "a", "label": 1}])
    with open(segment.location, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(LostSegment, match="log segment 7 at .* has .* bytes"):
        window.read(segment)
    import os

    os.remove(segment.location)
    with pytest.raises(LostSegment, match="is missing"):
        window.read(segment)


def test_a_legacy_row_with_a_nul_or_lone_surrogate_is_named_and_cleaned():
    row = {"request_id": "r\ud800", "features": {"city": "Os\x00lo"}}
    assert "lone surrogate" in problem(row, ("request_id",))
    assert "NUL" in problem({"request_id": "r", "features": {"city": "Os\x00lo"}}, ("request_id",))
    assert clean(row) == {"request_id": "r\\ud800", "features": {"city": "Os\\x00lo"}}


def test_the_default_location_follows_the_database(tmp_path):
    assert files.root_for(f"sqlite:///{tmp_path}/state.db", None, tmp_path / "data") == str(tmp_path / "logstore")
    assert files.root_for("postgresql+psycopg://u:p@h/mw", None, tmp_path) == str(tmp_path / "logstore" / "mw")
    assert files.root_for("postgresql+psycopg://u:p@h/mw", "s3://bucket/mw/", tmp_path) == "s3://bucket/mw"
