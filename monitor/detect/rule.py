"""The rule interface: one window's context in, findings out.

A rule family (performance drop, drift, data quality, ...) is one class in one module of
``monitor/detect/rules/``, registered with ``@rule("name")`` from :mod:`monitor.plugins`. The
detect stage loads one :class:`WindowContext` per check run (``monitor.check.context``) and hands
it to every registered rule in ``order``; a rule reads only the context and the spec, never the
store, so it runs on DataFrames in a unit test exactly as in a worker.

Adding a rule is one new module there; the spec learns its rule names and finding kinds from
:data:`monitor.plugins.RULES` (what ``alerting.rules`` and ``recovery`` may name).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import pandas as pd

from monitor.detect.findings import Finding
from monitor.kpis.interactions import PooledReference
from monitor.spec import ModelSpec


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


@dataclass(frozen=True)
class WindowContext:
    """Everything a rule may read about one window, loaded once per check run.

    Every field has an empty default, so a test builds one from the few DataFrames its rule
    needs: ``WindowContext(spec, window=df, kpis={"recall": 0.5}, baseline={"recall": 0.8})``.
    """

    spec: ModelSpec
    #: the window's log rows (``load_window``'s columns) and the same rows in the drift layout
    window: pd.DataFrame = field(default_factory=pd.DataFrame)
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: realised KPIs on the labelled rows, their count, and the reference's baseline KPIs
    kpis: dict[str, float | None] = field(default_factory=dict)
    labelled_rows: int = 0
    baseline: dict[str, float | None] = field(default_factory=dict)
    segments: dict[str, SegmentKpis] = field(default_factory=dict)
    #: the CBPE estimate of the window's KPIs (``EstimatedPerformance.to_json``), None if none
    estimated: dict[str, Any] | None = None
    #: latency/errors/throughput from the logs plus availability and host KPIs
    service: dict[str, float | None] = field(default_factory=dict)
    #: the window's interaction counts (``InteractionCounts.to_json``), None when not watched,
    #: and the pooled counts of earlier windows (``PooledReference``), None when not needed
    interactions: dict[str, Any] | None = None
    interaction_reference: PooledReference | None = None
    #: the reference: packed per-segment drift references, a row sample, per-column statistics
    drift_reference: bytes | None = None
    reference_sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality_stats: dict[str, dict] | None = None
    #: rows of the window quarantined at ingestion
    quarantined: int = 0
    #: per KPI, ``(run id, value)`` oldest first with this run last
    kpi_history: dict[str, list[tuple[str, float | None]]] = field(default_factory=dict)
    #: per open streaming alert: its rule, the statistic over the window's rows from the alarm on,
    #: and the alarm (``monitor.stream.confirm.open_alarms``)
    streaming: list[tuple[str, float | None, dict[str, Any] | None]] = field(default_factory=list)
    #: this check's number among the model's checks (1 = its first), None when unknown (a notebook)
    check_number: int | None = None
    #: findings of the rules that ran before this one (``run_rules`` fills it, in rule order)
    earlier: tuple[Finding, ...] = ()


class Rule:
    """One rule family. Subclasses set the class attributes and implement :meth:`evaluate`.

    ``kinds`` are the kinds of finding it produces, ``fields`` the spec fields it reads (the
    contract test checks they exist), ``order`` where it runs in the detect stage (findings are
    stored in that order). ``detection_key`` names the part of the stored ``detection`` result
    that :meth:`summary` fills for the report, if any.
    """

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]
    fields: ClassVar[tuple[str, ...]] = ()
    order: ClassVar[int] = 100
    detection_key: ClassVar[str | None] = None

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        """The ``rule`` values its findings carry (one family may hold several rules)."""
        return (cls.name,)

    def evaluate(self, context: WindowContext) -> list[Finding]:
        """Every verdict on this window: firing, ok, or insufficient_data."""
        raise NotImplementedError

    def summary(self, context: WindowContext, findings: list[Finding]) -> Any:
        """What the report shows of this rule beyond its findings (``detection[detection_key]``)."""
        return None


@dataclass(frozen=True)
class Detection:
    """Every rule's findings on one window, in rule order, and each rule's ``summary`` by its
    ``detection_key`` (what the report shows beyond the findings)."""

    findings: list[Finding]
    summaries: dict[str, Any]


def run_rules(context: WindowContext) -> Detection:
    """Run every registered rule on the context, in ``order``.

    >>> from monitor.spec import ModelSpec
    >>> spec = ModelSpec(name="m", task="binary_classification")
    >>> detection = run_rules(WindowContext(spec, kpis={"recall": 0.5}, baseline={"recall": 0.8}, labelled_rows=500))
    >>> [(f.rule, f.status) for f in detection.findings]
    [('recall_drop', 'firing'), ('kpi_anomaly', 'ok')]
    """
    from monitor.plugins import RULES

    findings: list[Finding] = []
    summaries: dict[str, Any] = {}
    for _, family in sorted(RULES, key=lambda item: (item[1].order, item[0])):
        rule = family()
        found = rule.evaluate(replace(context, earlier=tuple(findings)) if findings else context)
        findings += found
        if rule.detection_key:
            summaries[rule.detection_key] = rule.summary(context, found)
    return Detection(findings=findings, summaries=summaries)
