"""The window as the data rules see it: the drift layout, and the model's outputs named in words.

Alert identity is (model, rule, segment); for the data rules the segment names what the finding
is about: ``feature=income``, ``output=__score__``, ``check=missing,column=age``.
"""

from __future__ import annotations

import pandas as pd

from monitor.logstore.columns import ColumnFrame
from monitor.reference import PREDICTION, SCORE, drift_frame, output_column
from monitor.spec import ModelSpec

OUTPUTS = (SCORE, PREDICTION)
READABLE = {SCORE: "the model score", PREDICTION: "the predicted class"}
#: the outputs' names where a single token is needed (metric labels, ``--json`` consumers' keys)
LABELS = {SCORE: "model_score", PREDICTION: "model_prediction"}


def column_label(column: str) -> str:
    """A column's name outside modelwatch: features as they are, the model's outputs in words.

    >>> column_label("__score__"), column_label("income")
    ('model_score', 'income')
    """
    return LABELS.get(column, column)


def segment_label(segment: str) -> str:
    """An alert's segment as people read it: ``output=__score__`` -> ``output=model_score``.

    >>> segment_label("region=EU,output=__prediction__")
    'region=EU,output=model_prediction'
    """
    for column, label in LABELS.items():
        segment = segment.replace(f"={column}", f"={label}")
    return segment


def window_frame(window: pd.DataFrame | ColumnFrame, spec: ModelSpec) -> pd.DataFrame | ColumnFrame:
    """The window in the reference's drift layout (features plus reserved output columns); of a
    window read column by column, a view whose output columns are derived when read."""
    if not len(window):
        return window
    score = "score" if "score" in window else None
    if isinstance(window, pd.DataFrame):
        return drift_frame(window, spec, prediction="prediction", score=score)

    def output(name: str) -> pd.Series:
        # only the one output's source column, converted as drift_frame converts it (without
        # building its frame: a tenth of the CPU on a small window), so reading the score does
        # not also convert every prediction to text (or the reverse)
        return output_column(window["prediction" if name == PREDICTION else score], spec, name)

    features = window[[c for c in spec.columns.features if c in window]]
    outputs = [c for c, source in ((PREDICTION, "prediction"), (SCORE, score)) if source and source in window]
    return features.with_columns({name: (lambda name=name: output(name)) for name in outputs})


def readable(text: str) -> str:
    """Messages name the model's outputs in words, not by their reserved column names."""
    for column, words in READABLE.items():
        text = text.replace(column, words)
    return text
