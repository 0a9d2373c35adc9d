"""The rule interface: one window's context in, findings out.

A rule family (performance drop, drift, data quality, ...) is one class in one module of
``monitor/detect/rules/``, registered with ``@rule("name")`` from :mod:`monitor.plugins`. The
detect stage loads one :class:`WindowContext` per check run (``monitor.check.context``) and hands
it to every registered rule in ``order``; a rule reads only the context and the spec, never the
store, so it runs on DataFrames in a unit test exactly as in a worker. The rules that read the
window's columns (drift, variance, joint drift, data quality) are column rules
(:class:`ColumnRule`): they share one pass over the columns, so a large window's column is read
once per check, not once per rule.

Adding a rule is one new module there; the spec learns its rule names and finding kinds from
:data:`monitor.plugins.RULES` (what ``alerting.rules`` and ``recovery`` may name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import pandas as pd

from monitor.detect.findings import Finding, SegmentKpis  # noqa: F401 - SegmentKpis: re-exported for callers
from monitor.kpis.interactions import PooledReference
from monitor.spec import ModelSpec


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
    drift_reference: bytes | memoryview | None = None
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


# -- Rules that read the window's columns share one pass over them ---------------------------------
#
# Drift, variance change, the joint-drift sample and data quality each look at every feature. A
# large window is read from its Parquet segments one column at a time (monitor.logstore.columns),
# and a 1M-row column costs tens of milliseconds to decode, so letting each rule walk the features
# on its own read every column four times. run_rules reads each column *once* and hands it to
# every rule that asked for it before reading the next one; no column outlives its turn.
#
# The rules stay separate units. A rule that reads columns is a ColumnRule: its column_step looks
# at the context and returns a ColumnStep (or None when it has nothing to say on this window),
# which names the columns it wants, takes each one in its turn (ColumnStep.take) and turns what
# it took into findings at the end (ColumnStep.finish, in rule order, with the findings of the
# rules before it in ``context.earlier``). A step keeps its results per column name, so the order
# in which the pass hands columns over never changes its findings. ``evaluate`` of a column rule
# runs its own step alone (a notebook, a unit test). Columns are read by name from
# ``context.frame`` (the drift layout: the features plus the model's outputs) or, for a name it
# lacks, from ``context.window``; a feature is the same column in both.


class ColumnStep:
    """A rule's part of the pass: ``columns`` it wants (its own order), one call of :meth:`take`
    per column, then :meth:`finish`. Subclasses set ``columns`` and implement both methods."""

    columns: Sequence[str] = ()

    def take(self, name: str, values: pd.Series) -> None:
        """Work on one column; keep only results (the column itself is dropped after its turn)."""
        raise NotImplementedError

    def finish(self, context: WindowContext) -> list[Finding]:
        """The rule's findings from what :meth:`take` kept."""
        raise NotImplementedError


class ColumnRule(Rule):
    """A rule whose work is per column: it gives a :class:`ColumnStep` to the shared pass."""

    def column_step(self, context: WindowContext) -> ColumnStep | None:
        """This rule's step on this window, or None when it yields no finding here."""
        raise NotImplementedError

    def evaluate(self, context: WindowContext) -> list[Finding]:
        """The rule alone: its own pass over the columns it wants."""
        step = self.column_step(context)
        if step is None:
            return []
        walk_columns(context, [step])
        return step.finish(context)


def walk_columns(context: WindowContext, steps: Sequence[ColumnStep]) -> None:
    """Read every column the steps want once, in the order they first ask for it, and hand it to
    each step that wants it before the next column is read."""
    wanted = [set(step.columns) for step in steps]
    for name in dict.fromkeys(name for step in steps for name in step.columns):
        values = read_column(context, name)
        for step, names in zip(steps, wanted):
            if name in names:
                step.take(name, values)
        del values


def read_column(context: WindowContext, name: str) -> pd.Series:
    """``name`` from the drift layout, or from the window when the layout lacks it."""
    return context.frame[name] if name in context.frame else context.window[name]


def run_with_pass(context: WindowContext, rules: Sequence[Rule]) -> list[tuple[Rule, list[Finding]]]:
    """Every rule's findings, in the order given: column rules' steps first share one pass over the
    columns, then each rule finishes (or evaluates) with the findings before it as ``earlier``."""
    steps: dict[int, ColumnStep | None] = {
        i: rule.column_step(context) for i, rule in enumerate(rules) if isinstance(rule, ColumnRule)}
    walk_columns(context, [step for step in steps.values() if step is not None])
    results: list[tuple[Rule, list[Finding]]] = []
    findings: list[Finding] = []
    for i, rule in enumerate(rules):
        seen = replace(context, earlier=tuple(findings)) if findings else context
        if i in steps:
            step = steps.pop(i)
            found = step.finish(seen) if step is not None else []
        else:
            found = rule.evaluate(seen)
        results.append((rule, found))
        findings += found
    return results


@dataclass(frozen=True)
class Detection:
    """Every rule's findings on one window, in rule order, and each rule's ``summary`` by its
    ``detection_key`` (what the report shows beyond the findings)."""

    findings: list[Finding]
    summaries: dict[str, Any]


def run_rules(context: WindowContext) -> Detection:
    """Run every registered rule on the context, in ``order`` (each sees the findings before it).

    >>> from monitor.spec import ModelSpec
    >>> spec = ModelSpec(name="m", task="binary_classification")
    >>> detection = run_rules(WindowContext(spec, kpis={"recall": 0.5}, baseline={"recall": 0.8}, labelled_rows=500))
    >>> [(f.rule, f.status) for f in detection.findings]
    [('recall_drop', 'firing'), ('kpi_anomaly', 'ok')]
    """
    from monitor.plugins import RULES

    # The rules that read the window's columns (drift, variance, joint drift, quality) share one
    # pass over them: each column is read once (ColumnRule above).
    rules = [family() for _, family in sorted(RULES, key=lambda item: (item[1].order, item[0]))]
    findings: list[Finding] = []
    summaries: dict[str, Any] = {}
    for rule, found in run_with_pass(context, rules):
        findings += found
        if rule.detection_key:
            summaries[rule.detection_key] = rule.summary(context, found)
    return Detection(findings=findings, summaries=summaries)
