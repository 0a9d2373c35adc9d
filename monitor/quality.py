"""Data quality of a window against its reference: is the input still what the model was built on?

Bad data explains a large share of model incidents and is cheaper to see than drift: a feed that
stopped filling a column, a unit change that pushes values out of the range the model ever saw, a
string where a number belongs, a renamed column, a sensor stuck at one value, a new category the
encoder maps to "unknown". Each check here is one small function over the same :class:`_Window`,
registered in :data:`CHECKS` (in the spirit of Great Expectations' expectations or Deequ's
constraints: Schelter et al., 2018, Automating large-scale data quality verification, VLDB).

Reference statistics are plain JSON (:func:`reference_stats`), so they live in the reference
profile; the profile :mod:`monitor.reference` builds is accepted as well (it has ``counts`` where
this module writes ``categories``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from monitor.quality_charts import (HISTOGRAM_BINS, bin_counts, categories_of, category_counts,  # noqa: F401
                                    column_chart, histogram, histograms, parse_numbers, text_counts)

#: Categories kept in the reference statistics (most frequent first).
MAX_CATEGORIES = 1000
#: An issue is critical when its value exceeds the threshold this many times over.
CRITICAL_FACTOR = 5.0
#: Share of unparseable values (or quarantined rows) that makes a type issue critical.
CRITICAL_TYPE_ERROR_SHARE = 0.05
#: A window needs this many non-missing values before "it is constant" means anything.
CONSTANT_MIN_VALUES = 10
#: The 99th percentile of Gamma(2, 1), ``n`` times that of Beta(2, n - 1) (:func:`range_slack`).
RANGE_SLACK = 6.64

Severity = Literal["warning", "critical"]


@dataclass(frozen=True)
class QualityIssue:
    """One problem found in a window; ``column`` is None for a table-level issue."""

    check: str
    column: str | None
    severity: Severity
    value: float | None
    threshold: float | None
    reference_value: float | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def reference_stats(df: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> dict[str, dict]:
    """Per-column statistics :func:`assess_quality` compares windows against (JSON-able).

    ``{column: {"type", "count", "missing", "distinct", "min", "max", "histogram"}}`` for numeric
    columns and ``{"type", "count", "missing", "distinct", "categories", "counts"}`` for categorical
    ones; ``count`` includes missing values.
    """
    stats: dict[str, dict] = {}
    for column in numeric:
        numbers, _ = parse_numbers(df[column])
        finite = numbers[np.isfinite(numbers)]
        entry: dict[str, Any] = {"type": "numeric", "count": int(len(numbers)), "missing": int(df[column].isna().sum()),
                                 "distinct": int(len(np.unique(finite)))}
        if len(finite):
            entry.update(min=float(finite.min()), max=float(finite.max()), histogram=histogram(finite))
        stats[column] = entry
    for column in categorical:
        present = df[column].dropna().astype(str).value_counts()
        top = present.iloc[:MAX_CATEGORIES]
        stats[column] = {"type": "categorical", "count": int(len(df)), "missing": int(df[column].isna().sum()),
                         "distinct": int(len(present)), "categories": [str(c) for c in top.index],
                         "counts": {str(c): int(n) for c, n in top.items()}}
    return stats


class WindowLayout:
    """A window as the checks read it: names, row count, the columns handed over (no DataFrame
    built around one column, or copied from the window's features, to read names and a length).

    >>> layout = WindowLayout(["age", "plan"], 3, {"age": pd.Series([1.0, None, 3.0])})
    >>> "plan" in layout, len(layout), layout["age"].isna().sum()
    (True, 3, np.int64(1))
    """

    __slots__ = ("columns", "_names", "_rows", "_data")

    def __init__(self, columns: Iterable[Any], rows: int, data: dict[str, pd.Series] | None = None):
        self.columns = list(columns)
        self._names, self._rows, self._data = set(self.columns), int(rows), data or {}

    @classmethod
    def of(cls, window: Any) -> "WindowLayout":
        return window if isinstance(window, cls) else cls(window.columns, len(window))

    def __contains__(self, name: Any) -> bool:
        return name in self._names

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, name: str) -> pd.Series:
        return self._data[name]


@dataclass(frozen=True)
class _Window:
    """What every check looks at. A column's floats and text counts are worked out once and
    shared by the checks and the chart that need them (:meth:`numbers`, :meth:`text_counts`)."""

    stats: dict[str, dict]
    window: pd.DataFrame | WindowLayout
    numeric: list[str]
    categorical: list[str]
    ignore: frozenset[str]
    quarantined: int
    max_missing_increase: float
    max_out_of_range: float
    max_new_categories: float

    parsed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def present(self, columns: list[str]) -> list[str]:
        return [c for c in columns if c in self.window and c in self.stats] if len(self.window) else []

    def numbers(self, column: str) -> tuple[np.ndarray, int]:
        """:func:`parse_numbers` of the column, once."""
        key = ("numbers", column)
        if key not in self.parsed:
            self.parsed[key] = parse_numbers(self.window[column])
        return self.parsed[key]

    def present_numbers(self, column: str) -> np.ndarray:
        """The column's non-missing floats, once."""
        key = ("present", column)
        if key not in self.parsed:
            numbers, _ = self.numbers(column)
            self.parsed[key] = numbers[~np.isnan(numbers)]
        return self.parsed[key]

    def missing(self, column: str) -> int:
        """``isna().sum()`` of the column, once (a numeric column's parsed floats are NaN there)."""
        key = ("missing", column)
        if key not in self.parsed:
            series = self.window[column]
            if pd.api.types.is_numeric_dtype(series.dtype):
                self.parsed[key] = int(np.count_nonzero(np.isnan(self.numbers(column)[0])))
            else:
                self.parsed[key] = int(series.isna().sum())
        return self.parsed[key]

    def text_counts(self, column: str) -> pd.Series:
        """:func:`text_counts` of the column, once."""
        key = ("text", column)
        if key not in self.parsed:
            self.parsed[key] = text_counts(self.window[column])
        return self.parsed[key]


def _severity(value: float, threshold: float) -> Severity:
    return "critical" if value > CRITICAL_FACTOR * threshold else "warning"


def _schema(w: _Window) -> list[QualityIssue]:
    issues = [QualityIssue("schema", c, "critical", None, None, None,
                           f"expected column {c!r} is missing from the window")
              for c in (*w.numeric, *w.categorical) if c not in w.window]
    known = {*w.numeric, *w.categorical, *w.ignore}
    issues += [QualityIssue("schema", str(c), "warning", None, None, None,
                            f"column {c!r} is in the window but not in the model's features")
               for c in w.window.columns if c not in known]
    return issues


def _completeness(w: _Window) -> list[QualityIssue]:
    issues = []
    for column in w.present([*w.numeric, *w.categorical]):
        entry = w.stats[column]
        reference = entry["missing"] / entry["count"] if entry.get("count") else 0.0
        current = w.missing(column) / len(w.window)  # isna().mean(): the same division
        increase = current - reference
        if increase > w.max_missing_increase:
            severity = "critical" if current == 1.0 else _severity(increase, w.max_missing_increase)
            issues.append(QualityIssue("completeness", column, severity, current, w.max_missing_increase, reference,
                                       f"{column!r} is missing in {current:.1%} of the window's rows against "
                                       f"{reference:.1%} in the reference (allowed rise {w.max_missing_increase:.1%})"))
    return issues


def _type_errors(w: _Window) -> list[QualityIssue]:
    issues = []
    if w.quarantined:
        share = w.quarantined / (w.quarantined + len(w.window))
        issues.append(QualityIssue("type_errors", None, "critical" if share >= CRITICAL_TYPE_ERROR_SHARE else "warning",
                                   float(w.quarantined), 0.0, None,
                                   f"{w.quarantined} row(s) ({share:.1%}) were quarantined at ingestion "
                                   f"and are not in the window"))
    for column in w.present(w.numeric):
        _, invalid = w.numbers(column)
        if invalid:
            share = invalid / max(int(w.window[column].notna().sum()), 1)
            issues.append(QualityIssue("type_errors", column,
                                       "critical" if share >= CRITICAL_TYPE_ERROR_SHARE else "warning",
                                       float(invalid), 0.0, None,
                                       f"{invalid} value(s) ({share:.1%}) of numeric column {column!r} "
                                       f"are not numbers"))
    return issues


def range_slack(entry: dict) -> float:
    """The share of unchanged data that may fall outside a reference range by chance alone.

    The share of a continuous distribution outside the range of ``n`` values drawn from it is
    Beta(2, n - 1) distributed: about ``2 / (n + 1)`` on average, up to ``RANGE_SLACK / n`` 99 times
    in 100. That is 0.1% for 5,000 reference values but 2.8% for the 240-row holdout a retrain may
    leave as a version's reference, whose sample minimum may land high enough to page someone
    about a tail the model has always seen. Statistics without a ``count`` get no slack.

    >>> round(range_slack({"count": 5100, "missing": 100}), 5), range_slack({"min": 0, "max": 1})
    (0.00133, 0.0)
    """
    values = int(entry.get("count") or 0) - int(entry.get("missing") or 0)
    return RANGE_SLACK / values if values > 0 else 0.0


def _out_of_range(w: _Window) -> list[QualityIssue]:
    issues = []
    for column in w.present(w.numeric):
        entry = w.stats[column]
        if "min" not in entry or "max" not in entry:
            continue
        present = w.present_numbers(column)
        if not len(present):
            continue
        share = float(((present < entry["min"]) | (present > entry["max"])).mean())
        slack = range_slack(entry)
        allowed = w.max_out_of_range + slack
        if share > allowed:
            reason = f"allowed {w.max_out_of_range:.1%}"
            if slack >= 0.0005:
                reason += f" + {slack:.1%} that a range seen in {round(RANGE_SLACK / slack):,} values leaves to chance"
            issues.append(QualityIssue("out_of_range", column, _severity(share, allowed), share, allowed, 0.0,
                                       f"{share:.1%} of {column!r} lies outside the reference range "
                                       f"[{entry['min']:.4g}, {entry['max']:.4g}] ({reason})"))
    return issues


def _new_categories(w: _Window) -> list[QualityIssue]:
    issues = []
    for column in w.present(w.categorical):
        known = set(categories_of(w.stats[column]))
        counts = w.text_counts(column)
        present = int(counts.sum())
        if not present or not known:
            continue
        unseen = counts[~counts.index.isin(known)]
        share = float(unseen.sum() / present)
        if share > w.max_new_categories:
            examples = ", ".join(repr(v) for v in unseen.index[:3])
            issues.append(QualityIssue("new_categories", column, _severity(share, w.max_new_categories), share,
                                       w.max_new_categories, 0.0,
                                       f"{share:.1%} of {column!r} are categories the reference never had "
                                       f"(e.g. {examples}; allowed {w.max_new_categories:.1%})"))
    return issues


def _reference_constant(entry: dict) -> bool | None:
    if "distinct" in entry:
        return entry["distinct"] <= 1
    if entry.get("type") == "numeric":
        return entry["min"] == entry["max"] if "min" in entry else None
    return len(categories_of(entry)) <= 1


def _constant(w: _Window) -> list[QualityIssue]:
    issues = []
    for column in w.present([*w.numeric, *w.categorical]):
        if _reference_constant(w.stats[column]) is not False:
            continue
        if column in w.numeric:
            values = w.present_numbers(column)
            count, single = len(values), len(values) > 0 and values.min() == values.max()
            first = values[0] if count else None
        else:
            counts = w.text_counts(column)
            count, single = int(counts.sum()), len(counts) == 1
            first = counts.index[0] if single else None
        if count >= CONSTANT_MIN_VALUES and single:
            issues.append(QualityIssue("constant_column", column, "warning", 1.0, None,
                                       float(w.stats[column].get("distinct", 2)),
                                       f"{column!r} takes the single value {first!r} throughout the "
                                       f"window, though it varied in the reference (a stuck feed?)"))
    return issues


#: The checks by name, run in this order.
CHECKS: dict[str, Callable[[_Window], list[QualityIssue]]] = {
    "schema": _schema,
    "completeness": _completeness,
    "type_errors": _type_errors,
    "out_of_range": _out_of_range,
    "new_categories": _new_categories,
    "constant_column": _constant,
}


def assess_quality(reference_stats: dict[str, dict], window: pd.DataFrame, numeric: Sequence[str],
                   categorical: Sequence[str], *, quarantined: int = 0, max_missing_increase: float = 0.05,
                   max_out_of_range: float = 0.01, max_new_categories: float = 0.01,
                   ignore: Iterable[str] = ()) -> list[QualityIssue]:
    """Every quality issue of ``window`` against ``reference_stats`` (see :data:`CHECKS`).

    ``ignore`` names window columns that are expected but are not features (label, prediction,
    score, timestamp, id), so that the schema check does not report them as unexpected.
    ``quarantined`` is the number of rows ingestion set aside as unparseable.

    >>> ref = pd.DataFrame({"age": [20, 30, 40, 50] * 500, "plan": ["a", "b", "a", "b"] * 500})
    >>> win = pd.DataFrame({"age": [25, 35, 90, None], "plan": ["a", "b", "c", "a"]})
    >>> [issue.check for issue in assess_quality(reference_stats(ref, ["age"], ["plan"]), win, ["age"], ["plan"])]
    ['completeness', 'out_of_range', 'new_categories']
    """
    return assess_with_histograms(reference_stats, window, numeric, categorical, quarantined=quarantined,
                                  max_missing_increase=max_missing_increase, max_out_of_range=max_out_of_range,
                                  max_new_categories=max_new_categories, ignore=ignore)[0]


def assess_with_histograms(reference_stats: dict[str, dict], window: pd.DataFrame, numeric: Sequence[str],
                           categorical: Sequence[str], *, quarantined: int = 0, max_missing_increase: float = 0.05,
                           max_out_of_range: float = 0.01, max_new_categories: float = 0.01,
                           ignore: Iterable[str] = ()) -> tuple[list[QualityIssue], dict[str, dict]]:
    """:func:`assess_quality` and :func:`histograms` in one pass over the columns (a large window
    is read from its segments once per column, not once per check and once per chart)."""
    assessment = QualityPass(reference_stats, window, numeric, categorical, quarantined=quarantined,
                             max_missing_increase=max_missing_increase, max_out_of_range=max_out_of_range,
                             max_new_categories=max_new_categories, ignore=ignore)
    for column in assessment.columns:
        assessment.take(column, window[column])
    return assessment.result()


class QualityPass:
    """:func:`assess_with_histograms` one column at a time: hand each of :attr:`columns` to
    :meth:`take` (in any order; the detect stage does it in its shared pass over the window's
    columns), then :meth:`result` lists the issues check by check as :data:`CHECKS` orders them,
    and the charts in the reference statistics' order. Only ``window``'s names and length are
    read here (a :class:`WindowLayout` is enough); the values come through :meth:`take`."""

    def __init__(self, reference_stats: dict[str, dict], window: pd.DataFrame | WindowLayout, numeric: Sequence[str],
                 categorical: Sequence[str], *, quarantined: int = 0, max_missing_increase: float = 0.05,
                 max_out_of_range: float = 0.01, max_new_categories: float = 0.01, ignore: Iterable[str] = ()):
        window = WindowLayout.of(window)
        self._context = _Window(reference_stats, window, list(numeric), list(categorical), frozenset(ignore),
                                int(quarantined), max_missing_increase, max_out_of_range, max_new_categories)
        self._assessed = self._context.present(list(dict.fromkeys([*numeric, *categorical])))
        #: columns with reference statistics that no check reads but the report charts
        charted = [c for c, entry in reference_stats.items() if c in window and c not in self._assessed
                   and (entry.get("type") == "categorical"
                        or (entry.get("type") == "numeric" and "histogram" in entry))]
        self.columns: list[str] = [*self._assessed, *charted]
        self._issues: dict[str, dict[str, list[QualityIssue]]] = {}  # per column, per check
        self._plots: dict[str, dict] = {}

    def take(self, column: str, values: pd.Series) -> None:
        """Every check and the chart of one column (each parse or count of it done once)."""
        context, one = self._context, WindowLayout([column], len(values), {column: values})
        alone = replace(context, window=one, quarantined=0, numeric=[c for c in context.numeric if c == column],
                        categorical=[c for c in context.categorical if c == column])
        if column in self._assessed:
            self._issues[column] = {name: check(alone) for name, check in CHECKS.items() if name != "schema"}
        chart = column_chart(alone, column, context.stats[column])
        if chart is not None:
            self._plots[column] = chart

    def result(self) -> tuple[list[QualityIssue], dict[str, dict]]:
        """The issues (check by check, then column by column) and the window's charts."""
        context = self._context
        found: dict[str, list[QualityIssue]] = {name: [] for name in CHECKS}
        found["schema"] = _schema(context)
        found["type_errors"] = _type_errors(replace(context, numeric=[]))  # the quarantined rows
        for column in self._assessed:
            for name, issues in self._issues[column].items():
                found[name] += issues
        return ([issue for issues in found.values() for issue in issues],
                {column: self._plots[column] for column in context.stats if column in self._plots})
