"""The reference side of per-feature drift, computed ONCE per model version and cached as bytes.

Every check compares a window against the same reference, so everything about the reference that a
method needs is worked out when the version is registered: for a numeric column its non-missing
values *sorted* (KS and Wasserstein then only search the window's values in them, they never sort
the reference again), its moments, quantiles and the PSI bins; for a categorical column its
category counts. A check then touches only the current window.

Missing means NaN/None and, for numeric columns, also +/-inf and values that are not numbers: such
values are counted in ``missing`` and take no part in any statistic.

``max_sample`` caps the stored sorted values by seeded random subsampling without replacement (the
seed is mixed with the column name, so a column's sample does not depend on which other columns are
listed). The cap bounds the blob's size and each check's cost on huge references; the moments,
quantiles and PSI bins are always computed on the *full* column. KS and Wasserstein then use the
sample, so KS's p-value is that of the sample's size. Default: no cap.

The bytes are a numpy ``.npz`` archive (uncompressed: loading is a copy, and sorted random floats
barely compress) holding the arrays and a JSON document of everything else. Nothing is pickled:
:meth:`DriftReference.from_bytes` loads with ``allow_pickle=False``, so a blob cannot run code.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from monitor.drift.arrays import (SortedWindow, as_float, finite_sorted, sorted_quantiles,  # noqa: F401 - re-exported
                                  sorted_ranks, sorted_window)

FORMAT = 1
#: Quantiles kept for summaries: 5th, 50th and 95th percentiles.
SUMMARY_QUANTILES = (0.05, 0.5, 0.95)
#: Interior PSI bin edges: the reference deciles.
PSI_QUANTILES = tuple(q / 10 for q in range(1, 10))
TOP_CATEGORIES = 10


def numeric_summary(mean: float, std: float, quantiles: Sequence[float]) -> dict[str, float]:
    """The summary a finding shows for one side of a numeric column."""
    q05, q50, q95 = (float(q) for q in quantiles)
    return {"mean": float(mean), "std": float(std), "q05": q05, "q50": q50, "q95": q95}


def describe(sorted_values: np.ndarray) -> dict[str, float]:
    """:func:`numeric_summary` of sorted finite values (NaN when there are none)."""
    if sorted_values.size == 0:
        return numeric_summary(np.nan, np.nan, (np.nan,) * 3)
    std = float(sorted_values.std(ddof=1)) if sorted_values.size > 1 else 0.0
    return numeric_summary(float(sorted_values.mean()), std, sorted_quantiles(sorted_values, SUMMARY_QUANTILES))


def bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per PSI bin; bin ``i`` is ``[edges[i-1], edges[i])``, the outer bins are open."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate(([0], cuts, [sorted_values.size]))).astype(np.int64)


@dataclass(frozen=True, eq=False)
class NumericReference:
    """The reference side of one numeric column (see the module docstring)."""

    kind: ClassVar[str] = "numeric"

    name: str
    values: np.ndarray
    count: int
    missing: int
    mean: float
    std: float
    min: float
    max: float
    quantiles: tuple[float, float, float]
    psi_edges: np.ndarray
    psi_counts: np.ndarray

    @classmethod
    def from_values(cls, name: str, values: Any, *, max_sample: int | None = None,
                    seed: int = 0) -> "NumericReference":
        """Sort, describe and bin one column (subsampling the stored values beyond ``max_sample``)."""
        array = as_float(values)
        full = finite_sorted(array)
        if full is array:  # never keep a view of the caller's data
            full = full.copy()
        if full.size == 0:
            empty = np.empty(0, dtype=np.float64)
            return cls(name, empty, 0, int(array.size), np.nan, np.nan, np.nan, np.nan, (np.nan,) * 3,
                       empty, np.zeros(1, dtype=np.int64))
        quantiles = np.quantile(full, (*SUMMARY_QUANTILES, *PSI_QUANTILES))
        edges = np.unique(quantiles[len(SUMMARY_QUANTILES):])
        stored = full
        if max_sample is not None and full.size > max_sample:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            stored = np.sort(rng.choice(full, max_sample, replace=False))
        std = float(full.std(ddof=1)) if full.size > 1 else 0.0
        return cls(name, stored, int(full.size), int(array.size - full.size), float(full.mean()), std,
                   float(full[0]), float(full[-1]), tuple(float(q) for q in quantiles[:3]), edges,
                   bin_counts(full, edges))

    def summary(self) -> dict[str, float]:
        return numeric_summary(self.mean, self.std, self.quantiles)


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, eq=False)
class CategoryCounts:
    """Counts per category (categories as strings, zero counts dropped) and the missing count."""

    categories: tuple[str, ...]
    counts: np.ndarray
    missing: int = 0

    @classmethod
    def of(cls, values: Any) -> "CategoryCounts":
        """Count the values once (pandas ``value_counts``); already counted values pass through.

        Categories become strings, as in the reference profile. A whole float is written as an
        integer (``1.0 -> "1"``): a missing value turns an integer column into floats, and the
        window must not look full of unseen categories because of it. Values whose strings
        coincide (``1`` and ``"1"``) are one category.
        """
        if isinstance(values, CategoryCounts):
            return values
        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object).ravel())
        counted = series.value_counts(dropna=True)
        counted = counted[counted > 0]
        labels = [_label(k) for k in counted.index]
        counts = counted.to_numpy(dtype=np.int64)
        if len(set(labels)) != len(labels):
            merged = pd.Series(counts).groupby(labels, sort=False).sum()
            merged = merged.sort_values(ascending=False, kind="stable")
            labels, counts = [str(k) for k in merged.index], merged.to_numpy(dtype=np.int64)
        return cls(tuple(labels), counts, int(len(series) - counts.sum()))

    @classmethod
    def of_groups(cls, values: pd.Series, groups: Sequence[np.ndarray | None]) -> list["CategoryCounts"]:
        """``CategoryCounts.of`` of the column (a group None) and of each group of its rows
        (positions, ascending), from one factorisation of the column: a segment's counts are a
        ``bincount`` of its rows' codes, not another hash of its values.

        The same counts in the same order: ``value_counts`` sorts by count, stably, from the order
        in which the values first appear, and so does this (within each group). A column whose
        values are not all strings is counted group by group with :meth:`of`, since there the
        text of a category can depend on which of several equal values came first (``1``, ``1.0``).

        >>> values = pd.Series(["b", "a", None, "a", "c", "b"])
        >>> [g.categories for g in CategoryCounts.of_groups(values, [None, np.array([0, 4, 5])])]
        [('b', 'a', 'c'), ('b', 'c')]
        """
        codes, uniques = pd.factorize(values)
        if not all(type(value) is str for value in uniques):
            return [cls.of(values if rows is None else values.iloc[rows]) for rows in groups]
        codes = codes + 1  # 0 for a missing value, i + 1 for category i: one bincount, no masked copy
        return [cls._of_codes(codes if rows is None else codes[rows], uniques) for rows in groups]

    @classmethod
    def _of_codes(cls, codes: np.ndarray, uniques: Any) -> "CategoryCounts":
        """Counts of the (shifted) codes: 0 is a missing value, ``i + 1`` category ``uniques[i]``."""
        counts = np.bincount(codes, minlength=len(uniques) + 1)
        missing, counts = int(counts[0]), counts[1:]
        seen = np.flatnonzero(counts)
        if np.unique(counts[seen]).size < seen.size:  # ties: the first to appear comes first
            first = np.full(len(uniques) + 1, codes.size, dtype=np.intp)
            np.minimum.at(first, codes, np.arange(codes.size, dtype=np.intp))
            seen = seen[np.argsort(first[1:][seen], kind="stable")]
        seen = seen[np.argsort(-counts[seen], kind="stable")]
        return cls(tuple(str(uniques[i]) for i in seen), counts[seen].astype(np.int64, copy=False), missing)

    @property
    def count(self) -> int:
        """Non-missing values."""
        return int(self.counts.sum())

    @cached_property
    def index(self) -> pd.Index:
        return pd.Index(self.categories, dtype=object)

    def summary(self) -> dict[str, float]:
        """Shares (of non-missing values) of the ten most frequent categories."""
        total = self.count
        if total == 0:
            return {}
        top = np.argsort(-self.counts, kind="stable")[:TOP_CATEGORIES]
        return {self.categories[i]: float(self.counts[i] / total) for i in top}


@dataclass(frozen=True, eq=False)
class CategoricalReference(CategoryCounts):
    """The reference side of one categorical column: its :class:`CategoryCounts` and its name."""

    kind: ClassVar[str] = "categorical"

    name: str = ""

    @classmethod
    def from_values(cls, name: str, values: Any) -> "CategoricalReference":
        """Count one column of the reference."""
        counted = CategoryCounts.of(values)
        return cls(counted.categories, counted.counts, counted.missing, name)


@dataclass(frozen=True)
class Contingency:
    """Reference and window counts over the union of their categories (reference ones first)."""

    labels: list[str]
    reference: np.ndarray
    current: np.ndarray

    @classmethod
    def of(cls, reference: CategoryCounts, current: CategoryCounts) -> "Contingency":
        position = reference.index.get_indexer(current.index)
        seen = position >= 0
        window = np.zeros(len(reference.categories), dtype=np.int64)
        window[position[seen]] = current.counts[seen]  # categories are unique on each side
        unseen = np.flatnonzero(~seen)
        labels = [*reference.categories, *(current.categories[i] for i in unseen)]
        return cls(labels, np.concatenate((reference.counts, np.zeros(unseen.size, dtype=np.int64))),
                   np.concatenate((window, current.counts[unseen])))

    @property
    def unseen(self) -> list[str]:
        """Categories of the window the reference never saw."""
        return [label for label, n in zip(self.labels, self.reference) if n == 0]


ColumnReference = NumericReference | CategoricalReference


@dataclass(frozen=True, eq=False)
class DriftReference:
    """The cached reference of a model version: one column reference per drift column.

    >>> frame = pd.DataFrame({"age": [30.0, 41.0, None, 25.0], "plan": ["a", "b", "a", None]})
    >>> reference = DriftReference.from_frame(frame, numeric=["age"], categorical=["plan"])
    >>> reference.columns["age"].values.tolist(), reference.columns["plan"].categories
    ([25.0, 30.0, 41.0], ('a', 'b'))
    >>> DriftReference.from_bytes(reference.to_bytes()).columns["age"].missing
    1
    """

    columns: dict[str, ColumnReference] = field(default_factory=dict)
    max_sample: int | None = None
    seed: int = 0

    @property
    def numeric(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.kind == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.kind == "categorical"]

    @classmethod
    def from_frame(cls, df: pd.DataFrame, numeric: Iterable[str] = (), categorical: Iterable[str] = (),
                   max_sample: int | None = None, seed: int = 0) -> "DriftReference":
        """Build the reference of ``numeric`` and ``categorical`` columns of ``df``."""
        numeric, categorical = list(numeric), list(categorical)
        absent = [c for c in (*numeric, *categorical) if c not in df.columns]
        if absent:
            raise ValueError(f"drift reference: column(s) {absent} are not in the reference data, "
                             f"which has {list(df.columns)}")
        both = sorted(set(numeric) & set(categorical))
        if both:
            raise ValueError(f"drift reference: column(s) {both} are listed as both numeric and categorical")
        if max_sample is not None and max_sample < 2:
            raise ValueError(f"drift reference: max_sample must be at least 2 values or None, got {max_sample}")
        columns: dict[str, ColumnReference] = {}
        for name in numeric:
            columns[name] = NumericReference.from_values(name, df[name], max_sample=max_sample, seed=seed)
        for name in categorical:
            columns[name] = CategoricalReference.from_values(name, df[name])
        return cls(columns, max_sample, seed)

    def to_bytes(self) -> bytes:
        """An ``.npz`` archive of the arrays plus a JSON ``meta`` entry; no pickle."""
        arrays: dict[str, np.ndarray] = {}
        described: list[dict[str, Any]] = []
        for i, column in enumerate(self.columns.values()):
            if isinstance(column, NumericReference):
                arrays[f"c{i}_values"] = column.values
                arrays[f"c{i}_edges"] = column.psi_edges
                arrays[f"c{i}_bins"] = column.psi_counts
                described.append({"name": column.name, "kind": "numeric", "count": column.count,
                                  "missing": column.missing, "mean": column.mean, "std": column.std,
                                  "min": column.min, "max": column.max, "quantiles": list(column.quantiles)})
            else:
                arrays[f"c{i}_counts"] = column.counts
                described.append({"name": column.name, "kind": "categorical", "missing": column.missing,
                                  "categories": list(column.categories)})
        meta = {"format": FORMAT, "max_sample": self.max_sample, "seed": self.seed, "columns": described}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "DriftReference":
        """Rebuild a reference saved by :meth:`to_bytes` (``np.load(allow_pickle=False)``)."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            return cls._from_arrays(archive)

    @classmethod
    def view_bytes(cls, blob: bytes | memoryview | np.ndarray) -> "DriftReference":
        """:meth:`from_bytes` whose arrays are read-only views of ``blob`` (no copy; the
        reference keeps ``blob`` alive). Raises ValueError when the blob cannot be viewed."""
        from monitor.drift.npz import npz_views

        return cls._from_arrays(npz_views(blob))

    @classmethod
    def _from_arrays(cls, archive: Any) -> "DriftReference":
        meta = json.loads(archive["meta"].tobytes().decode())
        if meta.get("format") != FORMAT:
            raise ValueError(f"drift reference blob has format {meta.get('format')!r}; "
                             f"this version reads format {FORMAT}: rebuild the reference")
        columns: dict[str, ColumnReference] = {}
        for i, d in enumerate(meta["columns"]):
            if d["kind"] == "numeric":
                columns[d["name"]] = NumericReference(
                    d["name"], archive[f"c{i}_values"], d["count"], d["missing"], d["mean"], d["std"],
                    d["min"], d["max"], tuple(d["quantiles"]), archive[f"c{i}_edges"], archive[f"c{i}_bins"])
            else:
                columns[d["name"]] = CategoricalReference(tuple(d["categories"]), archive[f"c{i}_counts"],
                                                          d["missing"], d["name"])
        return cls(columns, meta["max_sample"], meta["seed"])
