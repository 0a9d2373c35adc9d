"""The detect stage's one pass over a window's columns (``monitor.detect.rule.ColumnRule``): each
feature is read from the segments once per check, handed to the drift, variance, joint-drift and
quality rules in its turn, and every rule finds exactly what it finds when it runs alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from monitor.detect import rule as detect_rule
from monitor.detect.frames import window_frame
from monitor.detect.rule import ColumnRule, WindowContext, run_rules, walk_columns
from monitor.detect.rules.drift import Drift
from monitor.detect.rules.multivariate import SAMPLE_ROWS, MultivariateDrift
from monitor.detect.rules.quality import DataQuality
from monitor.detect.rules.variance import VarianceChange
from monitor.drift.multivariate import domain_classifier_drift
from monitor.logstore import columns, files, tables
from monitor.reference import build_drift_reference, build_profile
from monitor.spec import parse_spec

NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
SEGMENTS = 3
FEATURES = ["n0", "n1", "c0", "c1"]
COLUMN_RULES = (Drift, VarianceChange, MultivariateDrift, DataQuality)


def _frame(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    return pd.DataFrame({
        "n0": np.where(rng.random(n) < 0.02 + shift, np.nan, rng.normal(shift, 1, n)),
        "n1": rng.normal(0, 1 + shift, n), "c0": rng.choice(["a", "b", "c"], n),
        "c1": rng.choice(["x", "y"], n, p=[0.5 + shift / 4, 0.5 - shift / 4]),
        "prediction": rng.integers(0, 2, n), "score": rng.random(n)})


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    """A drifted 3,000-row window in three Parquet segments, its spec and reference."""
    rng = np.random.default_rng(7)
    reference, current = _frame(rng, 3000, 0.0), _frame(rng, 3000, 0.4)
    spec = parse_spec({"name": "m", "task": "binary_classification",
                       "columns": {"numeric": ["n0", "n1"], "categorical": ["c0", "c1"], "segments": ["c0"]},
                       "rules": {"drift": {"joint": {"run": "always"}}}}, "test")[0]
    labelled = reference.assign(label=reference["prediction"])
    profile, _ = build_profile(labelled, spec)
    rows = [{"request_id": f"r{i}", "ts": NOW, "prediction": int(r.prediction), "score": float(r.score),
             "features": {"n0": r.n0, "n1": r.n1, "c0": r.c0, "c1": r.c1}} for i, r in enumerate(current.itertuples())]
    folder = str(tmp_path_factory.mktemp("segments"))
    segments = []
    for i in range(SEGMENTS):
        written = files.write_segment(folder, 1, "predictions",
                                      tables.table_from_rows("predictions", rows[i * 1000:(i + 1) * 1000]))
        segments.append(dataclasses.make_dataclass("Segment", ["id", "location", "checksum", "bytes"])(
            i + 1, written.location, written.checksum, written.bytes))
    base = WindowContext(spec=spec, drift_reference=build_drift_reference(labelled, spec),
                         reference_sample=pd.DataFrame.from_records(profile["sample"]),
                         quality_stats=profile.get("quality"))
    return segments, base


def _view_context(window) -> WindowContext:
    """The window as the detect stage gets it: a view read column by column, no column cache, and
    the small columns the evaluate stage keeps (outputs, the segment column) already in memory."""
    segments, base = window
    opened = columns.open_window(segments, [], NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=1), None,
                                 whole_up_to=0)  # read column by column, as a window over 256 KB is
    for name in ("prediction", "score", "c0"):
        opened.column(name, keep=True)
    view = opened.view()
    return dataclasses.replace(base, window=view, frame=window_frame(view, base.spec))


@pytest.fixture
def reads(monkeypatch):
    """How many times each stored column is read from a segment file."""
    counted: Counter[str] = Counter()
    real = columns.read_verified_columns

    def counting(segment_id, location, size, names, *args, **kwargs):
        counted.update(names)
        return real(segment_id, location, size, names, *args, **kwargs)

    monkeypatch.setattr(columns, "read_verified_columns", counting)
    return counted


def test_a_check_reads_each_feature_once_for_all_the_rules_that_walk_the_features(window, reads):
    context = _view_context(window)
    reads.clear()  # opening the window reads request_id, ts, version and the kept columns
    detection = run_rules(context)
    firing = {f.rule for f in detection.findings if f.status == "firing"}
    assert {"data_drift", "variance_change", "multivariate_drift", "data_quality"} <= firing
    # n0, n1, c1 once from each segment; c0 (kept by the evaluate stage) and the outputs not at all
    assert reads == {f"{tables.FEATURE}{name}": SEGMENTS for name in ("n0", "n1", "c1")}


def test_each_rule_alone_reads_its_columns_and_the_rules_together_read_them_once(window, reads):
    """The counts that the shared pass saves: alone, each rule reads the features it walks."""
    alone = Counter()
    for family in COLUMN_RULES:
        family().evaluate(_view_context(window))
    alone.update(reads)
    reads.clear()
    run_rules(_view_context(window))
    assert alone[f"{tables.FEATURE}n1"] == 4 * SEGMENTS  # drift, variance, the joint sample, quality
    assert reads[f"{tables.FEATURE}n1"] == SEGMENTS


def test_the_shared_pass_finds_what_each_rule_finds_alone(window):
    context = _view_context(window)
    detection = run_rules(context)
    expected, earlier = [], []
    for family in COLUMN_RULES:  # in rule order, each on its own walk of the columns
        found = family().evaluate(dataclasses.replace(context, earlier=tuple(earlier)))
        earlier += found
        expected += [f.to_json() for f in found]
    shared = [f.to_json() for f in detection.findings if f.rule in {
        name for family in COLUMN_RULES for name in family.rule_names()}]
    assert shared == expected
    assert detection.summaries["quality"] == DataQuality().summary(context, DataQuality().evaluate(context))


def test_the_order_the_pass_hands_columns_over_changes_no_finding(window):
    context = _view_context(window)
    forward, backward = [], []
    for found, turn in ((forward, lambda names: names), (backward, lambda names: names[::-1])):
        steps = [family().column_step(context) for family in COLUMN_RULES]
        order = list(dict.fromkeys(name for step in steps for name in step.columns))
        for name in turn(order):
            values = detect_rule.read_column(context, name)
            for step in steps:
                if name in step.columns:
                    step.take(name, values)
        for step in steps:
            found += [f.to_json() for f in step.finish(dataclasses.replace(context, earlier=()))]
    assert forward == backward


def test_the_joint_drift_sample_taken_in_the_pass_is_the_one_the_classifier_draws(window):
    context = _view_context(window)
    whole = pd.DataFrame({name: context.frame[name] for name in FEATURES})
    expected = domain_classifier_drift(context.reference_sample, whole, ["n0", "n1"], ["c0", "c1"],
                                       sample=SAMPLE_ROWS, threshold_auc=context.spec.rules.multivariate_auc)
    [found] = MultivariateDrift().evaluate(context)
    assert found.details == expected.to_json() and found.value == expected.auc


def test_a_column_rule_with_nothing_to_say_takes_no_part_in_the_pass(window, reads):
    context = _view_context(window)
    reads.clear()
    bare = dataclasses.replace(context, drift_reference=None, quality_stats=None,
                               reference_sample=pd.DataFrame())
    for family in COLUMN_RULES:
        assert family().column_step(bare) is None and family().evaluate(bare) == []
    walk_columns(bare, [])
    assert not reads
    assert all(issubclass(family, ColumnRule) for family in COLUMN_RULES)


def test_the_detect_view_does_not_fill_the_column_cache(window, reads):
    """Each feature is read once per check, so keeping it decoded would only hold memory: a second
    check of the same open window reads the features again, whatever the cache budget."""
    segments, base = window
    opened = columns.open_window(segments, [], NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=1), None,
                                 cache_bytes=2**30, whole_up_to=0)
    view = opened.view()
    context = dataclasses.replace(base, window=view, frame=window_frame(view, base.spec))
    run_rules(context)
    first = reads[f"{tables.FEATURE}n1"]
    run_rules(context)
    assert first == SEGMENTS and reads[f"{tables.FEATURE}n1"] == 2 * SEGMENTS
    assert opened.column("n1") is opened.column("n1")  # a plain read still caches within the budget
