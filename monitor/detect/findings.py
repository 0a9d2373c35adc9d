"""What a rule concluded about one window (firing, ok, or not enough data to say), and the
per-segment KPIs a check hands its rules.

Plain values without pandas: the store, the check's stage results and the commands that only read
runs (``modelwatch status``, ``check``, ``alerts``) import them, and must not pay for the rules'
stack (pandas with numpy and pyarrow, about 0.3 CPU-s to import; tests/unit/test_import_cost.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["firing", "ok", "insufficient_data"]


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one window.

    ``ok`` matters as much as ``firing``: it is what lets an open alert resolve. A rule that could
    not be evaluated (too few labelled rows) is ``insufficient_data`` and leaves alerts as they are.
    """

    rule: str
    kind: str
    status: Status
    message: str
    metric: str | None = None
    value: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    severity: str = "warning"
    segment: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Finding":
        return cls(**data)


#: The earlier name of :class:`Finding` (one rule's verdict on one window), kept for callers.
RuleEvaluation = Finding


@dataclass(frozen=True)
class SegmentKpis:
    """One segment value's realised KPIs, labelled rows and its own baseline (from the reference)."""

    kpis: dict[str, float | None]
    labelled_rows: int
    baseline: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return {"kpis": self.kpis, "labelled_rows": self.labelled_rows, "baseline": self.baseline}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SegmentKpis":
        return cls(kpis=data["kpis"], labelled_rows=data["labelled_rows"], baseline=data["baseline"])
