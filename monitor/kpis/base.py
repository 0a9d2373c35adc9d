"""What every KPI computation shares: the :class:`Evaluation` value, KPI names, and how labels compare."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLASSIFICATION_KPIS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_KPIS = ("mae", "rmse", "r2")
#: KPIs where larger is worse: a drop rule on them is an *increase* rule.
LOWER_IS_BETTER = frozenset({"mae", "rmse", "log_loss"})


@dataclass(frozen=True)
class Evaluation:
    """The KPIs of one window (or of the reference) and what they were computed on."""

    kpis: dict[str, float | None]
    labelled_rows: int
    confusion_matrix: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    per_class: dict[str, dict[str, float]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kpis": self.kpis,
            "labelled_rows": self.labelled_rows,
            "confusion_matrix": self.confusion_matrix,
            "notes": self.notes,
            "per_class": self.per_class,
        }


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def label_key(value: Any) -> str:
    """Labels compared as text so that 1, 1.0 and "1" from different sources agree."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)
