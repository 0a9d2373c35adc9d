"""The window's charts beside the reference's (histograms on the reference's bin edges, category
counts in the reference's order), and the parsing of a column's values they share with
:mod:`monitor.quality`'s checks. Split from that module to keep each under about 400 lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

HISTOGRAM_BINS = 20


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, int]:
    """Values as floats (NaN where missing or unparseable) and how many did not parse."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan), 0
    numbers = pd.to_numeric(values, errors="coerce")
    invalid = int((numbers.isna() & values.notna()).sum())
    return numbers.to_numpy(dtype=float, na_value=np.nan), invalid


def text_counts(values: pd.Series) -> pd.Series:
    """``values.dropna().astype(str).value_counts()``, without converting every row to text.

    A column of strings is counted as it is (hashing the existing objects); only a column holding
    other types takes the row-by-row path, because ``1``, ``1.0`` and ``True`` hash alike but are
    different text.
    """
    counts = values.value_counts()
    if counts.index.dtype == object and all(type(v) is str for v in counts.index):
        return counts
    if pd.api.types.is_string_dtype(counts.index.dtype) and counts.index.dtype != object:
        return counts
    return values.dropna().astype(str).value_counts()


def histogram(values: Iterable[float] | pd.Series, bins: int | Sequence[float] = HISTOGRAM_BINS) -> dict[str, Any]:
    """Counts of ``values`` in ``bins`` (a number of bins, or the reference's edges) for plots.

    With the reference's edges, a window's histogram is directly comparable to the reference's;
    values outside the edges are counted in ``below``/``above`` rather than silently dropped.

    >>> histogram([0.5, 1.5, 1.7, 9.0, None], [0, 1, 2])
    {'edges': [0.0, 1.0, 2.0], 'counts': [1, 2], 'below': 0, 'above': 1, 'missing': 1}
    """
    numbers, _ = parse_numbers(pd.Series(values) if not isinstance(values, pd.Series) else values)
    return _histogram(numbers, bins)


def _histogram(numbers: np.ndarray, bins: int | Sequence[float], present: np.ndarray | None = None) -> dict[str, Any]:
    """:func:`histogram` of values already parsed to floats (NaN where missing); ``present``: the
    non-missing ones, when the caller holds them already (no second copy of a large column)."""
    present = numbers[~np.isnan(numbers)] if present is None else present
    if isinstance(bins, (int, np.integer)):
        finite = present[np.isfinite(present)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        edges = np.histogram_bin_edges(finite, bins=int(bins), range=(lo - 0.5, hi + 0.5) if lo == hi else (lo, hi))
        counts, _ = np.histogram(present[(present >= edges[0]) & (present <= edges[-1])], bins=edges)
    else:
        edges = np.asarray(bins, dtype=float)
        counts = bin_counts(present[(present >= edges[0]) & (present <= edges[-1])], edges)
    return {"edges": edges.tolist(), "counts": counts.astype(int).tolist(),
            "below": int((present < edges[0]).sum()), "above": int((present > edges[-1]).sum()),
            "missing": int(len(numbers) - len(present))}


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` for values within ``[edges[0], edges[-1]]``.

    Given an array of edges, numpy sorts the values (in blocks) to count them, about 50 ms for a
    million. The reference's edges are equal-width ones (``np.histogram_bin_edges`` of its values):
    when they are exactly what numpy computes for that range and number of bins, numpy's
    equal-width path counts the same values into the same bins (it places each value by its edges)
    several times faster. Other edges take numpy's general path.

    >>> values, edges = np.array([0.0, 0.5, 1.0, 1.5, 2.0]), np.linspace(0.0, 2.0, 5)
    >>> bin_counts(values, edges).tolist(), np.histogram(values, edges)[0].tolist()
    ([1, 1, 1, 2], [1, 1, 1, 2])
    """
    bins = edges.size - 1
    if bins >= 1 and edges[0] < edges[-1]:
        span = (float(edges[0]), float(edges[-1]))
        if np.array_equal(np.histogram_bin_edges(values[:0], bins=bins, range=span), edges):
            return np.histogram(values, bins=bins, range=span)[0]
    return np.histogram(values, bins=edges)[0]


def category_counts(values: Iterable[Any] | pd.Series, categories: Sequence[str] | None = None) -> dict[str, Any]:
    """Counts per category (the reference's, in their order, when given) plus ``other`` and ``missing``.

    >>> category_counts(["a", "b", "a", "z", None], ["a", "b"])
    {'categories': ['a', 'b'], 'counts': [2, 1], 'other': 1, 'missing': 1}
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    frequencies = text_counts(series)
    names = list(categories) if categories is not None else [str(c) for c in frequencies.index]
    counts = [int(frequencies.get(name, 0)) for name in names]
    return {"categories": names, "counts": counts, "other": int(frequencies.sum() - sum(counts)),
            "missing": int(series.isna().sum())}


def histograms(stats: dict[str, dict], window: pd.DataFrame) -> dict[str, dict]:
    """The window's histogram (numeric, on the reference's edges) or category counts, per column."""
    plots: dict[str, dict] = {}
    for column, entry in stats.items():
        if column not in window:
            continue
        if entry.get("type") == "numeric" and "histogram" in entry:
            plots[column] = histogram(window[column], entry["histogram"]["edges"])
        elif entry.get("type") == "categorical":
            plots[column] = category_counts(window[column], categories_of(entry))
    return plots


def categories_of(entry: dict) -> list[str]:
    """The categories of a column's reference statistics (``categories``, or a profile's ``counts``)."""
    return list(entry.get("categories") or entry.get("counts") or [])


def column_chart(w: Any, column: str, entry: dict) -> dict | None:
    """:func:`histograms`' entry of one column, from what :mod:`monitor.quality`'s checks already
    parsed or counted (``w``: its per-column memo with ``numbers``, ``text_counts``, ``missing``)."""
    if entry.get("type") == "numeric" and "histogram" in entry:
        return _histogram(w.numbers(column)[0], entry["histogram"]["edges"], w.present_numbers(column))
    if entry.get("type") == "categorical":
        names = categories_of(entry)
        frequencies = w.text_counts(column)
        counts = [int(frequencies.get(name, 0)) for name in names]
        return {"categories": names, "counts": counts, "other": int(frequencies.sum() - sum(counts)),
                "missing": w.missing(column)}
    return None
