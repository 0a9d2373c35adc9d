"""Comparing a window's columns with the reference: the significance test, the effect size, the
Benjamini-Hochberg correction across columns, and the per-feature options (the rules are
described in :mod:`monitor.drift`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.drift import chi2, jensen_shannon, ks, psi, wasserstein  # noqa: F401 - fill METHODS
from monitor.drift.base import ColumnDrift, DriftMethod, MethodResult, describe_finding, human, method
from monitor.drift.correction import benjamini_hochberg
from monitor.drift.reference import (CategoricalReference, CategoryCounts, Contingency, DriftReference,
                                     NumericReference, SortedWindow, as_float, describe, finite_sorted)

EFFECT_THRESHOLDS = ("wasserstein", "jensen_shannon", "psi")


@dataclass(frozen=True)
class DriftOptions:
    """The thresholds and methods of one drift check (the defaults are argued in the module docstring)."""

    p_value: float = 0.01
    min_samples: int = 100
    numeric_test: str = "ks"
    categorical_test: str = "chi2"
    numeric_effect: str = "wasserstein"
    categorical_effect: str = "jensen_shannon"
    wasserstein: float = 0.1
    jensen_shannon: float = 0.1
    psi: float = 0.2

    def updated(self, overrides: Mapping[str, Any], where: str = "detect_drift()") -> "DriftOptions":
        """These options with ``overrides`` (option names, plus a ``thresholds`` dict) applied.

        Unknown names raise :class:`TypeError` (like an unexpected keyword argument); names given
        individually win over the same name in ``thresholds``.
        """
        overrides = dict(overrides)
        thresholds = dict(overrides.pop("thresholds", None) or {})
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known) + sorted(f"thresholds[{k!r}]" for k in set(thresholds) - known)
        if unknown:
            raise TypeError(f"{where} got unknown drift option(s) {', '.join(unknown)}; "
                            f"expected some of {sorted(known | {'thresholds', 'per_feature'})}")
        updated = dataclasses.replace(self, **{**thresholds, **overrides})
        updated.check(where)
        return updated

    def check(self, where: str) -> None:
        """Raise :class:`ValueError` naming the option when a value is out of range."""
        if not 0 < self.p_value < 1:
            raise ValueError(f"{where}: p_value must be between 0 and 1, got {self.p_value!r}")
        if isinstance(self.min_samples, bool) or not isinstance(self.min_samples, (int, np.integer)) \
                or self.min_samples < 1:
            raise ValueError(f"{where}: min_samples must be a whole number >= 1, got {self.min_samples!r}")
        for name in EFFECT_THRESHOLDS:
            if not getattr(self, name) >= 0:
                raise ValueError(f"{where}: {name} threshold must be >= 0, got {getattr(self, name)!r}")
        method(self.numeric_test, "numeric", "test")
        method(self.categorical_test, "categorical", "test")
        method(self.numeric_effect, "numeric", "effect")
        method(self.categorical_effect, "categorical", "effect")

    def methods(self, kind: str) -> tuple[DriftMethod, DriftMethod]:
        """(test, effect) methods for a ``kind`` of column."""
        if kind == "numeric":
            return method(self.numeric_test, kind, "test"), method(self.numeric_effect, kind, "effect")
        return method(self.categorical_test, kind, "test"), method(self.categorical_effect, kind, "effect")


@dataclass(frozen=True)
class _Window:
    """One column of the window, prepared once and shared by the test and the effect size."""

    values: Any  # SortedWindow (sorted finite float64 values), or CategoryCounts
    count: int
    missing: int
    summary: dict[str, Any]
    unseen: list[str]
    unseen_share: float

    @classmethod
    def of(cls, reference: NumericReference | CategoricalReference, series: pd.Series) -> "_Window":
        if isinstance(reference, NumericReference):
            raw = as_float(series)
            values = finite_sorted(raw)
            return cls(SortedWindow(values), int(values.size), int(raw.size - values.size), describe(values), [],
                       0.0)
        counts = CategoryCounts.of(series)
        rows = counts.count + counts.missing  # the window's rows (``series`` may be counted already)
        new = reference.index.get_indexer(counts.index) < 0
        unseen = [c for c, is_new in zip(counts.categories, new) if is_new]
        share = float(counts.counts[new].sum() / rows) if rows else 0.0
        return cls(counts, counts.count, counts.missing, counts.summary(), unseen, share)


@dataclass(frozen=True)
class _Comparison:
    """One column's test and effect size, before the BH correction across columns decides."""

    name: str
    kind: str
    options: DriftOptions
    reference: NumericReference | CategoricalReference | None = None
    window: _Window | None = None
    tested: MethodResult | None = None
    effected: MethodResult | None = None
    skipped: str | None = None

    @classmethod
    def of(cls, name: str, kind: str, reference: Any, values: pd.Series | None,
           options: DriftOptions) -> "_Comparison":
        """``values`` is the window's column, None when the window lacks it."""
        if reference is None:
            return cls(name, kind, options, skipped="column missing from the reference")
        if reference.kind != kind:
            return cls(name, kind, options, skipped=f"the reference holds it as {reference.kind}, "
                                                    f"the check lists it as {kind}")
        if values is None:
            return cls(name, kind, options, reference, skipped="column missing from the window")
        window = _Window.of(reference, values)
        tested = effected = None
        if reference.count > 0 and window.count > 0:
            test, effect = options.methods(kind)
            tested, effected = test.compare(reference, window.values), effect.compare(reference, window.values)
        if kind == "numeric":  # the sorted column is not needed past here: do not hold one per column
            window = dataclasses.replace(window, values=None)
        skipped = None
        if min(reference.count, window.count) < options.min_samples:
            skipped = (f"too few values to judge drift: {reference.count} in the reference and {window.count} in "
                       f"the window, at least {options.min_samples} needed on each side")
        return cls(name, kind, options, reference, window, tested, effected, skipped)

    @property
    def judged(self) -> bool:
        """Whether the column takes part in the correction and can be ``drifted``."""
        return self.skipped is None and self.tested is not None and self.tested.p_value is not None

    def finding(self, p_value_adjusted: float | None = None) -> ColumnDrift:
        test, effect = self.options.methods(self.kind)
        threshold_effect = getattr(self.options, effect.name)
        effect_size = None if self.effected is None else float(self.effected.statistic)
        drifted = (p_value_adjusted is not None and effect_size is not None
                   and p_value_adjusted < self.options.p_value and effect_size >= threshold_effect)
        reference, window = self.reference, self.window
        finding = ColumnDrift(
            column=self.name, kind=self.kind, method=test.name,
            statistic=None if self.tested is None else float(self.tested.statistic),
            p_value=None if self.tested is None else self.tested.p_value, p_value_adjusted=p_value_adjusted,
            effect_method=effect.name, effect_size=effect_size, threshold_p_value=self.options.p_value,
            threshold_effect=threshold_effect, drifted=bool(drifted),
            reference_count=reference.count if reference else 0, current_count=window.count if window else 0,
            reference_missing=reference.missing if reference else 0,
            current_missing=window.missing if window else 0,
            unseen_categories=window.unseen if window else [], unseen_share=window.unseen_share if window else 0.0,
            reference_summary=reference.summary() if reference else {},
            current_summary=window.summary if window else {}, skipped=self.skipped)
        if self.skipped:
            return dataclasses.replace(finding, message=f"{self.name} not compared: {self.skipped}")
        return dataclasses.replace(finding, message=describe_finding(finding, self.detail() if drifted else ""))

    def detail(self) -> str:
        """What moved, in the column's own terms: the means, or the category whose share moved most."""
        if self.kind == "numeric":
            return (f"window mean {human(self.window.summary['mean'])} vs reference "
                    f"{human(self.reference.summary()['mean'])}")
        table = Contingency.of(self.reference, self.window.values)
        before, after = table.reference / table.reference.sum(), table.current / table.current.sum()
        i = int(np.argmax(np.abs(after - before)))
        return f"{table.labels[i]!r} is {after[i]:.1%} of the window vs {before[i]:.1%} of the reference"


def detect_drift(reference: pd.DataFrame | DriftReference, current: pd.DataFrame,
                 numeric: Sequence[str] = (), categorical: Sequence[str] = (),
                 **options: Any) -> list[ColumnDrift]:
    """Drift of each ``numeric`` and ``categorical`` column of ``current`` against ``reference``.

    ``reference`` is the model version's cached :class:`DriftReference` (the fast path: only the
    window is read) or a DataFrame (its reference is built on the fly). Options (all keyword):
    ``p_value``, ``min_samples``, ``numeric_test`` (``"ks"``), ``categorical_test``
    (``"chi2"``), ``numeric_effect`` (``"wasserstein"`` | ``"psi"``), ``categorical_effect``
    (``"jensen_shannon"`` | ``"psi"``), the effect thresholds ``wasserstein``, ``jensen_shannon``,
    ``psi`` (individually or as a ``thresholds`` dict) and ``per_feature`` (``{column: {option:
    value}}``). An unknown option raises :class:`TypeError`. Findings come in the order numeric
    columns, then categorical ones, as listed.

    >>> frame = pd.DataFrame({"age": np.arange(300.0), "plan": ["a", "b", "c"] * 100})
    >>> [f.drifted for f in detect_drift(frame, frame, numeric=["age"], categorical=["plan"])]
    [False, False]
    """
    call, column_options = drift_options(**options)
    numeric, categorical = list(numeric or ()), list(categorical or ())
    both = sorted(set(numeric) & set(categorical))
    if both:
        raise ValueError(f"detect_drift(): column(s) {both} are listed as both numeric and categorical")
    if not isinstance(current, pd.DataFrame):
        raise TypeError(f"detect_drift(): current must be a pandas DataFrame, got {type(current).__name__}")
    if isinstance(reference, pd.DataFrame):
        reference = DriftReference.from_frame(reference, [c for c in numeric if c in reference.columns],
                                              [c for c in categorical if c in reference.columns])
    elif not isinstance(reference, DriftReference):
        raise TypeError("detect_drift(): reference must be a pandas DataFrame or a DriftReference, "
                        f"got {type(reference).__name__}")
    return corrected([compare_column(reference, name, kind, current[name] if name in current.columns else None,
                                     column_options.get(name, call))
                      for kind, names in (("numeric", numeric), ("categorical", categorical)) for name in names])


def drift_options(**options: Any) -> tuple[DriftOptions, dict[str, DriftOptions]]:
    """:func:`detect_drift`'s options parsed: the call's, and each ``per_feature`` column's."""
    per_feature = options.pop("per_feature", None) or {}
    call = DriftOptions().updated(options)
    if not isinstance(per_feature, Mapping) or not all(isinstance(v, Mapping) for v in per_feature.values()):
        raise TypeError("detect_drift(): per_feature must map column names to dicts of options")
    return call, {name: call.updated(o, f"per_feature[{name!r}]") for name, o in per_feature.items()}


def compare_column(reference: DriftReference, name: str, kind: str, values: pd.Series | None,
                   options: DriftOptions) -> "_Comparison":
    """One column's test and effect size (``values`` None: the window lacks the column). A caller
    that walks a large window one column at a time collects these per group of columns and hands
    each group to :func:`corrected`; :func:`detect_drift` is that for one frame."""
    return _Comparison.of(name, kind, reference.columns.get(name), values, options)


def corrected(comparisons: Sequence["_Comparison"]) -> list[ColumnDrift]:
    """The findings of one group of comparisons, p-values Benjamini-Hochberg-adjusted across it."""
    judged = [i for i, c in enumerate(comparisons) if c.judged]
    adjusted: list[float | None] = [None] * len(comparisons)
    for i, p_adjusted in zip(judged, benjamini_hochberg([comparisons[i].tested.p_value for i in judged])):
        adjusted[i] = float(p_adjusted)
    return [c.finding(p) for c, p in zip(comparisons, adjusted)]

