"""Per-column drift of the features (``data_drift``) and of the model's outputs
(``prediction_drift``), for the whole window and, against each segment's own reference, for each
segment value (``monitor.drift``: a test's BH-adjusted p-value and an effect size)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.detect.findings import Finding
from monitor.detect.frames import OUTPUTS, readable
from monitor.detect.rule import ColumnRule, ColumnStep, WindowContext
from monitor.plugins import rule
from monitor.reference import WHOLE, drift_columns, segment_positions
from monitor.spec import ModelSpec


@rule("drift")
class Drift(ColumnRule):
    """Feature and output drift against the reference; a segment's findings leave out the segment
    column itself (it cannot drift within its own segment)."""

    kinds = ("data_drift", "prediction_drift")
    fields = ("rules.drift", "rules.drift_p_value", "rules.prediction_drift")
    order = 50
    detection_key = "drift"

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        return cls.kinds

    def column_step(self, context: WindowContext) -> "_DriftStep | None":
        spec, frame = context.spec, context.frame
        if context.drift_reference is None or not spec.rules.drift.enabled or frame.empty:
            return None
        # Each column is compared for the whole window and every segment value in its turn of the
        # shared pass (``ColumnRule`` in monitor.detect.rule). Each group (the whole window, one
        # segment value) is then BH-corrected on its own, so the findings are those of one
        # ``detect_drift`` call per group.
        references = _References(context.drift_reference)
        groups = [_Group("", None, references(WHOLE), None)]
        for column in spec.columns.segments:
            if column not in frame:
                continue
            groups += [_Group(segment, column, references(segment), rows)
                       for segment, rows in segment_positions(frame[column], column) if references.has(segment)]
        return _DriftStep(groups, frame, spec)

    def summary(self, context: WindowContext, findings: list[Finding]) -> list[dict[str, Any]]:
        """The whole window's per-column results (the report's drift table)."""
        return [f.details for f in findings if f.segment == _whole_segment(f.details["column"])]


def _whole_segment(column: str) -> str:
    return f"{'output' if column in OUTPUTS else 'feature'}={column}"


class _References:
    """The bundle's references by key, as views of the bundle (the whole reference and every
    segment value's are held at once, since drift walks columns; copies would double the bundle's
    tens of MB), or decoded with ``np.load`` when the bundle cannot be viewed in place."""

    def __init__(self, bundle: bytes):
        from monitor.drift.npz import npz_views

        self._bundle = bundle
        try:
            self._views: dict[str, Any] | None = npz_views(bundle)
            self._keys = set(self._views)
        except ValueError:
            self._views = None
            with np.load(io.BytesIO(bundle), allow_pickle=False) as archive:
                self._keys = set(archive.files)

    def has(self, key: str) -> bool:
        return key in self._keys

    def __call__(self, key: str):
        from monitor.drift.reference import DriftReference

        if self._views is not None:
            try:
                return DriftReference.view_bytes(self._views[key])
            except ValueError:
                pass
        with np.load(io.BytesIO(self._bundle), allow_pickle=False) as archive:
            return DriftReference.from_bytes(archive[key].tobytes())



@dataclass(frozen=True)
class _Group:
    """The rows one set of drift findings is about: the whole window, or one segment value."""

    segment: str
    column: str | None  # the segment column (its own findings are left out), None for the window
    reference: Any
    rows: np.ndarray | None  # the segment's row positions, None for the whole window


class _DriftStep(ColumnStep):
    """Per column: the test and effect size for every group; at the end, BH per group."""

    def __init__(self, groups: list[_Group], frame, spec: ModelSpec):
        from monitor.drift.compare import drift_options

        rules = spec.rules
        numeric, categorical = drift_columns(spec, frame)
        if not rules.prediction_drift:
            numeric = [c for c in numeric if c not in OUTPUTS]
            categorical = [c for c in categorical if c not in OUTPUTS]
        both = sorted(set(numeric) & set(categorical))
        if both:
            raise ValueError(f"detect_drift(): column(s) {both} are listed as both numeric and categorical")
        self.groups = groups
        self.kinds = {**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")}
        self.columns = [*numeric, *categorical]
        self.options, self.per_feature = drift_options(**rules.drift.options())
        self.compared: dict[str, list[Any]] = {}  # per column, one comparison per group

    def take(self, name: str, values) -> None:
        from monitor.drift.compare import compare_column
        from monitor.drift.reference import CategoryCounts, as_float

        options, kind = self.per_feature.get(name, self.options), self.kinds[name]
        if kind == "numeric":  # converted once; each segment's values are a plain gather of it
            values = as_float(values)
            # one segment's gather at a time (a generator): no segment's values outlive its comparison
            parts = (values if group.rows is None else _rows(values, group.rows) for group in self.groups)
        else:  # factorised once; each segment's counts are a bincount of its rows' codes
            parts = CategoryCounts.of_groups(values, [group.rows for group in self.groups])
        self.compared[name] = [compare_column(group.reference, name, kind, part, options)
                               for group, part in zip(self.groups, parts)]

    def finish(self, context: WindowContext) -> list[Finding]:
        from monitor.drift.compare import corrected

        findings = []
        for i, group in enumerate(self.groups):
            found = [self.compared[name][i] for name in self.columns]
            findings += [_finding(result, group.segment) for result in corrected(found)
                         if group.column is None or result.column != group.column]
        return findings


def _rows(values, rows: np.ndarray):
    return values[rows] if isinstance(values, np.ndarray) else values.iloc[rows]


def _finding(result, segment: str) -> Finding:
    prefix = f"{segment}," if segment else ""
    output = result.column in OUTPUTS
    message = readable(result.skipped or result.message)
    status = "insufficient_data" if result.skipped else ("firing" if result.drifted else "ok")
    return Finding(
        rule="prediction_drift" if output else "data_drift",
        kind="prediction_drift" if output else "data_drift", status=status,
        segment=f"{prefix}{_whole_segment(result.column)}",
        message=f"[{segment}] {message}" if segment else message, metric=result.effect_method,
        value=result.effect_size, threshold=result.threshold_effect, details=result.to_json())
