"""Labels and predictions as integer codes into one sorted list of label keys, computed once.

scikit-learn's classification metrics on object arrays of strings spend most of their time
sorting and searching the same strings again in every call (``np.unique`` per metric, per
segment); on a million labelled rows that was over a minute per check. Here each column is
factorised once (pyarrow's hash-based ``dictionary_encode``, or ``np.unique`` on numbers), the
few distinct values are turned into their :func:`~monitor.kpis.base.label_key` text, and rows
become small integers; every KPI is then a ``bincount``. Values that are not one plain type
(say ``1`` and ``"1"`` in one column) take the exact per-value path, so a key is always what
``label_key`` says it is.

>>> codes, keys = encode_labels([1, 0.0, "a", None])
>>> [keys[c] for c in codes]
['1', '0', 'a', 'None']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from monitor.kpis.base import label_key

#: arrow types whose values ``label_key`` maps one-to-one through their Python value
_PLAIN = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_boolean,
          pa.types.is_floating)


def encode_labels(values: Sequence[Any] | np.ndarray | pd.Series) -> tuple[np.ndarray, list[str]]:
    """``(codes, keys)``: ``keys[codes[i]] == label_key(values[i])`` for every row, keys distinct.

    Keys come in no particular order; :func:`encode_pair` puts two columns on one sorted list.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        return _encode_text(values)
    array = values.to_numpy() if isinstance(values, pd.Series) else values
    if not isinstance(array, np.ndarray):
        array = np.asarray(list(array) if not isinstance(array, list) else array, dtype=object)
    if array.dtype.kind in "biuf":
        uniques, inverse = np.unique(array, return_inverse=True)
        return _merge([label_key(v) for v in uniques], inverse.reshape(-1))
    if array.dtype.kind in "US":
        array = array.astype(object)
    try:
        arrow = pa.array(array, from_pandas=False) if array.dtype == object else None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arrow = None
    if arrow is None or not any(test(arrow.type) for test in _PLAIN):
        return _merge_per_value(array)
    if pa.types.is_floating(arrow.type):
        return _merge_per_value(array) if arrow.null_count else encode_labels(arrow.to_numpy(zero_copy_only=False))
    encoded = arrow.dictionary_encode()  # None (the only null without from_pandas) -> null index
    keys = [label_key(v) for v in encoded.dictionary.to_pylist()]
    indices = encoded.indices.fill_null(len(keys)).to_numpy(zero_copy_only=False).astype(np.intp)
    return _merge([*keys, label_key(None)] if arrow.null_count else keys, indices)


def _encode_text(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A pandas string column (pandas 3's default for text): its missing values read as NaN
    (``to_numpy()`` gives NaN, so ``label_key`` says ``"nan"``), the rest are the strings."""
    arrow = pa.array(values.array)  # Arrow-backed: no copy; a ChunkedArray when read from several files
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks() if arrow.num_chunks else pa.array([], pa.string())
    encoded = arrow.dictionary_encode()
    keys = [label_key(v) for v in encoded.dictionary.to_pylist()]
    indices = encoded.indices.fill_null(len(keys)).to_numpy(zero_copy_only=False).astype(np.intp)
    return _merge([*keys, label_key(np.nan)] if encoded.null_count else keys, indices)


def _merge_per_value(array: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The exact path for mixed or missing values: one ``label_key`` per distinct object."""
    lookup: dict[Any, int] = {}
    keys: list[str] = []
    codes = np.empty(len(array), dtype=np.intp)
    by_key: dict[str, int] = {}
    for i, value in enumerate(array):
        marker = (type(value), value) if value == value else (type(value), "nan")  # NaN != NaN
        code = lookup.get(marker)
        if code is None:
            key = label_key(value)
            code = by_key.setdefault(key, len(keys))
            if code == len(keys):
                keys.append(key)
            lookup[marker] = code
        codes[i] = code
    return codes, keys


def _merge(unique_keys: list[str], inverse: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Distinct values whose keys coincide (``1`` and ``1.0``) become one code."""
    keys: list[str] = []
    position: dict[str, int] = {}
    remap = np.empty(len(unique_keys), dtype=np.intp)
    for i, key in enumerate(unique_keys):
        remap[i] = position.setdefault(key, len(keys))
        if remap[i] == len(keys):
            keys.append(key)
    return (remap[inverse] if len(unique_keys) else inverse.astype(np.intp)), keys


def encode_pair(truth, predicted, extra: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Both columns on one sorted list of keys (plus ``extra`` keys such as an absent positive
    class), as ``sorted(set(truth) | set(predicted))`` orders them."""
    truth_codes, truth_keys = encode_labels(truth)
    predicted_codes, predicted_keys = encode_labels(predicted)
    labels = sorted(set(truth_keys) | set(predicted_keys) | set(extra))
    index = {key: i for i, key in enumerate(labels)}
    to_shared = lambda keys: np.array([index[k] for k in keys], dtype=np.intp)  # noqa: E731
    return (to_shared(truth_keys)[truth_codes] if truth_keys else truth_codes,
            to_shared(predicted_keys)[predicted_codes] if predicted_keys else predicted_codes, labels)
