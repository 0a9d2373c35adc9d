"""The reference profile of a model version, computed once when the version is registered.

A profile holds what later checks compare a window against without touching the reference data
again: baseline KPIs (the version's predictions on its reference data, against the labels), and
per-column statistics (quantiles, moments and a bounded sorted sample for numeric columns,
category counts for categorical ones).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from monitor.errors import IngestError
from monitor.spec import ModelSpec, Task

if TYPE_CHECKING:  # monitor.kpis imports scikit-learn: not for a process that only validates a spec
    from monitor.kpis import Evaluation

SAMPLE_SIZE = 5000
#: Reference values kept per numeric column for drift tests: exact below it, a seeded random
#: sample above it (a 1M-row column would otherwise cost every check a 160 MB blob).
DRIFT_REFERENCE_ROWS = 200_000
JOINT_SAMPLE_SIZE = 2000
SCORE = "__score__"
PREDICTION = "__prediction__"
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


def read_table(path: str) -> pd.DataFrame:
    """Read a Parquet or CSV reference file."""
    lowered = path.lower()
    try:
        if lowered.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if lowered.endswith(".csv"):
            return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise IngestError(f"{path}: cannot read reference data: {exc}") from exc
    raise IngestError(f"{path}: reference data must be Parquet (.parquet) or CSV (.csv)")


def _numeric_profile(values: pd.Series, rng: np.random.Generator) -> dict[str, Any]:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = numbers[np.isfinite(numbers)]
    profile: dict[str, Any] = {"type": "numeric", "count": int(len(numbers)),
                               "missing": int(len(numbers) - len(finite))}
    if len(finite) == 0:
        return profile
    sample = finite if len(finite) <= SAMPLE_SIZE else rng.choice(finite, SAMPLE_SIZE, replace=False)
    profile.update(
        mean=float(finite.mean()),
        std=float(finite.std(ddof=1)) if len(finite) > 1 else 0.0,
        min=float(finite.min()),
        max=float(finite.max()),
        quantiles={str(q): float(v) for q, v in zip(QUANTILES, np.quantile(finite, QUANTILES))},
        sample=np.sort(sample).tolist(),
    )
    return profile


def _categorical_profile(values: pd.Series) -> dict[str, Any]:
    present = values.dropna().astype(str)
    return {
        "type": "categorical",
        "count": int(len(values)),
        "missing": int(values.isna().sum()),
        "counts": {str(k): int(v) for k, v in present.value_counts().items()},
    }


def segments_of(frame: pd.DataFrame, column: str):
    """``(segment, rows)`` for each value of a segment column, keyed ``column=value``.

    The one spelling of a segment key, shared by the reference profile, the evaluate stage and
    the drift checks, so a window's segment always finds its reference (1, 1.0 and "1" agree).
    Values are keyed once per distinct value and each part is taken alone (no sorted copy of the
    whole frame, as ``groupby`` makes).
    """
    for segment, rows in segment_positions(frame[column], column):
        yield segment, frame.iloc[rows]


def segment_positions(values: pd.Series, column: str):
    """``(segment, row positions)`` for each value of a segment column, as :func:`segments_of`
    splits it (positions ascending): what a caller walking a window column by column needs."""
    from monitor.kpis.labels import encode_labels

    codes, keys = encode_labels(values)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    for code in sorted(range(len(keys)), key=keys.__getitem__):  # groupby's order: by key
        yield f"{column}={keys[code]}", order[bounds[code]:bounds[code + 1]]


def drift_frame(frame: pd.DataFrame, spec: ModelSpec, *, prediction: str, score: str | None) -> pd.DataFrame:
    """Features plus the model's outputs under reserved names, as the drift code compares them."""
    columns = spec.columns
    out = frame[[c for c in columns.features if c in frame]]  # copy-on-write: no copy of the columns
    if prediction in frame:
        out[PREDICTION] = output_column(frame[prediction], spec, PREDICTION)
    if score and score in frame:
        out[SCORE] = output_column(frame[score], spec, SCORE)
    return out


def output_column(values: pd.Series, spec: ModelSpec, name: str) -> pd.Series:
    """One of the model's outputs as :func:`drift_frame` holds it under ``name`` (``PREDICTION``:
    numbers for a regression, else classes as text; ``SCORE``: numbers). A window read column by
    column converts each output alone with it (``monitor.detect.frames.window_frame``)."""
    if name == PREDICTION and spec.task is not Task.regression:
        return _prediction_text(values).rename(name)
    return pd.to_numeric(values, errors="coerce").rename(name)


def _prediction_text(values: pd.Series) -> pd.Series:
    """Predicted classes as text (``label_key``: 1.0 -> "1"), missing as None; each distinct value
    is converted once and rows share its string."""
    from monitor.kpis.labels import encode_labels

    codes, keys = encode_labels(values)
    text = np.asarray(keys, dtype=object)[codes] if keys else np.empty(len(values), dtype=object)
    text[pd.isna(values).to_numpy()] = None
    return pd.Series(text, index=values.index, dtype=object)


def drift_columns(spec: ModelSpec, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) column names of a :func:`drift_frame`."""
    numeric = [c for c in spec.columns.numeric if c in frame]
    categorical = [c for c in spec.columns.categorical if c in frame]
    if SCORE in frame:
        numeric.append(SCORE)
    if PREDICTION in frame:
        (numeric if spec.task is Task.regression else categorical).append(PREDICTION)
    return numeric, categorical


WHOLE = "__all__"


def pack(blobs: dict[str, bytes]) -> bytes:
    """Several drift references in one value: the whole reference and one per segment value."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.frombuffer(blob, dtype=np.uint8) for key, blob in blobs.items()})
    return buffer.getvalue()


def unpack(bundle: bytes) -> dict[str, bytes]:
    with np.load(io.BytesIO(bundle), allow_pickle=False) as archive:
        return {key: archive[key].tobytes() for key in archive.files}


def build_drift_reference(reference: pd.DataFrame, spec: ModelSpec, *, seed: int = 0) -> bytes:
    """The cached drift side of the reference (sorted numeric columns, category counts), for the
    whole reference and for each value of each segment column, packed with :func:`pack`."""
    from monitor.drift.reference import DriftReference

    frame = drift_frame(reference, spec, prediction=spec.columns.prediction, score=spec.columns.score)
    numeric, categorical = drift_columns(spec, frame)

    def build(part: pd.DataFrame) -> bytes:
        return DriftReference.from_frame(part, numeric, categorical, max_sample=DRIFT_REFERENCE_ROWS,
                                         seed=seed).to_bytes()

    blobs = {WHOLE: build(frame)}
    for column in spec.columns.segments:
        for segment, part in segments_of(frame, column):
            blobs[segment] = build(part)
    return pack(blobs)


def _json_records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in frame.astype(object).where(frame.notna(), None).to_dict("records")]


def build_profile(reference: pd.DataFrame, spec: ModelSpec, *, seed: int = 0) -> tuple[dict, Evaluation]:
    """Column statistics and baseline KPIs of a reference DataFrame.

    The reference must hold the label and prediction columns named in the spec (the version's
    predictions on held-out data), plus the feature columns it lists.
    """
    columns = spec.columns
    missing = [c for c in (columns.label, columns.prediction, *columns.features) if c not in reference]
    if missing:
        raise IngestError(
            f"reference data for model {spec.name!r} lacks column(s) {missing}; "
            f"it has {list(reference.columns)}"
        )
    rng = np.random.default_rng(seed)
    profile: dict[str, Any] = {"rows": int(len(reference)), "columns": {}}
    for name in columns.numeric:
        profile["columns"][name] = _numeric_profile(reference[name], rng)
    for name in columns.categorical:
        profile["columns"][name] = _categorical_profile(reference[name])
    has_scores = bool(columns.score and columns.score in reference)
    if has_scores:
        profile["score"] = _numeric_profile(reference[columns.score], rng)
    if spec.task is Task.regression:
        profile["prediction"] = _numeric_profile(reference[columns.prediction], rng)
    else:
        profile["prediction"] = _categorical_profile(reference[columns.prediction])
    from monitor.quality import reference_stats

    profile["quality"] = reference_stats(reference, columns.numeric, columns.categorical)
    sample = reference.sample(min(JOINT_SAMPLE_SIZE, len(reference)), random_state=seed)
    joint = drift_frame(sample, spec, prediction=columns.prediction, score=columns.score if has_scores else None)
    profile["sample"] = _json_records(joint)
    labelled = reference[reference[columns.label].notna()]
    if has_scores and spec.task is Task.binary_classification:
        from monitor.kpis import label_key

        pairs = labelled[[columns.score, columns.label]].dropna()
        pairs = pairs.sample(min(SAMPLE_SIZE, len(pairs)), random_state=seed)
        positive = label_key(spec.positive_label)
        profile["calibration"] = {
            "scores": pairs[columns.score].astype(float).round(6).tolist(),
            "labels": [int(label_key(v) == positive) for v in pairs[columns.label]],
        }
    baseline = _evaluate(labelled, spec, has_scores)
    profile["segments"] = {}
    for column in columns.segments:
        for segment, group in segments_of(labelled, column):
            evaluation = _evaluate(group, spec, has_scores)
            profile["segments"][segment] = {"kpis": evaluation.kpis,
                                                        "labelled_rows": evaluation.labelled_rows}
    return profile, baseline


def _evaluate(labelled: pd.DataFrame, spec: ModelSpec, has_scores: bool) -> Evaluation:
    from monitor.kpis import evaluate

    columns = spec.columns
    return evaluate(labelled[columns.label].tolist(), labelled[columns.prediction].tolist(), spec.task,
                    scores=labelled[columns.score].tolist() if has_scores else None,
                    positive_label=spec.positive_label)
