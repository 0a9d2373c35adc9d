"""What the stages of a check run hand each other, as values.

The evaluate stage computes a window's KPIs once (:class:`EvaluateResult`); the detect stage
reads it back to build the rules' context and stores what the report shows beyond the findings
(:class:`DetectResult`). Both are kept in ``check_runs.results`` as JSON, in the shape reports,
the API and the dashboard read (``evaluation``, ``counts``, ``baseline``, ``segments``,
``estimated``, ``service``, ``interactions``, ``detection``), so a retried stage or another
process sees exactly what the first run stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.detect.findings import SegmentKpis
from monitor.kpis import Evaluation


@dataclass(frozen=True)
class EvaluateResult:
    """The evaluate stage's output: realised KPIs, baselines, segments, the estimate, service KPIs
    and interaction counts of one window.

    >>> r = EvaluateResult(Evaluation(kpis={"recall": 0.5}, labelled_rows=80), rows=100)
    >>> EvaluateResult.from_json(r.to_json()) == r
    True
    """

    evaluation: Evaluation
    rows: int
    baseline: dict[str, float | None] = field(default_factory=dict)
    segments: dict[str, SegmentKpis] = field(default_factory=dict)
    estimated: dict[str, Any] | None = None
    service: dict[str, float | None] = field(default_factory=dict)
    interactions: dict[str, Any] | None = None

    @property
    def kpis(self) -> dict[str, float | None]:
        return self.evaluation.kpis

    @property
    def labelled_rows(self) -> int:
        return self.evaluation.labelled_rows

    def to_json(self) -> dict[str, Any]:
        return {"evaluation": self.evaluation.to_json(),
                "counts": {"rows": self.rows, "labelled_rows": self.labelled_rows},
                "baseline": self.baseline,
                "segments": {name: part.to_json() for name, part in self.segments.items()},
                "estimated": self.estimated, "service": self.service, "interactions": self.interactions}

    @classmethod
    def empty(cls) -> "EvaluateResult":
        """No KPIs and no rows: what detect sees for a run whose evaluate result is missing."""
        return cls(evaluation=Evaluation(kpis={}, labelled_rows=0), rows=0)

    @classmethod
    def from_json(cls, results: dict[str, Any] | None) -> "EvaluateResult | None":
        """The stored result, or None for a run whose evaluate stage has not succeeded."""
        results = results or {}
        if "evaluation" not in results:
            return None
        data = results["evaluation"]
        evaluation = Evaluation(kpis=data.get("kpis") or {}, labelled_rows=data.get("labelled_rows", 0),
                                confusion_matrix=data.get("confusion_matrix"), notes=data.get("notes") or [],
                                per_class=data.get("per_class"))
        return cls(evaluation=evaluation, rows=(results.get("counts") or {}).get("rows", 0),
                   baseline=results.get("baseline") or {},
                   segments={name: SegmentKpis.from_json(part) for name, part in (results.get("segments") or {}).items()},
                   estimated=results.get("estimated"), service=results.get("service") or {},
                   interactions=results.get("interactions"))


@dataclass(frozen=True)
class DetectResult:
    """What the report shows of the rules beyond their findings, keyed by each rule's
    ``detection_key`` (``drift``, ``variance``, ``multivariate``, ``quality``, ``anomalies``).

    >>> DetectResult.from_json(DetectResult({"drift": []}).to_json())
    DetectResult(detection={'drift': []})
    """

    detection: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.detection.get(key)
        return default if value is None else value

    def to_json(self) -> dict[str, Any]:
        return {"detection": self.detection}

    @classmethod
    def from_json(cls, results: dict[str, Any] | None) -> "DetectResult":
        return cls(detection=dict((results or {}).get("detection") or {}))


@dataclass(frozen=True)
class AlertResult:
    """The alert stage's output, which its task acts on: notifications to deliver and the Celery
    tasks of recovery actions cancelled because their alert resolved (to revoke). ``applied``:
    this stage applied the run's findings (so ``fired`` is every alert the run raised); False when
    they had been applied before, None in an output stored before the field existed."""

    fired: list[int]
    resolved: list[int]
    cancelled_actions: list[dict[str, Any]]  # {"id", "task_id"}
    notifications: list[int]
    applied: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"fired": self.fired, "resolved": self.resolved, "cancelled_actions": self.cancelled_actions,
                "notifications": self.notifications, "applied": self.applied}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "AlertResult":
        return cls(fired=list(data.get("fired") or []), resolved=list(data.get("resolved") or []),
                   cancelled_actions=list(data.get("cancelled_actions") or []),
                   notifications=list(data.get("notifications") or []), applied=data.get("applied"))


@dataclass(frozen=True)
class RecoveryPlan:
    """The schedule_recovery stage's output: actions to publish for their ETA (``{"id", "kind",
    "eta"}``), the outcome of the action this run verified (if any), and notifications to deliver
    (a failed recovery escalates)."""

    actions: list[dict[str, Any]]
    verification: dict[str, Any] | None = None
    notifications: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"actions": self.actions, "verification": self.verification, "notifications": self.notifications}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RecoveryPlan":
        return cls(actions=list(data.get("actions") or []), verification=data.get("verification"),
                   notifications=list(data.get("notifications") or []))
