"""The evaluate stage's work: one window's KPIs, computed once and stored.

Realised KPIs on the labelled rows (whole window and per segment value), the CBPE estimate while
labels are missing, service KPIs from the logs plus health probes and host samples, and what the
window's impressions did (interactions). The detect stage never recomputes these: it reads the
stored :class:`EvaluateResult`, so a retry or the report sees the same numbers even when more
rows or events arrive later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from monitor.check.results import EvaluateResult
from monitor.db.schema import CheckRun
from monitor.detect.findings import SegmentKpis
from monitor.detect.rules.estimated import estimate_window
from monitor.service.host import host_kpis
from monitor.kpis.interactions import InteractionCounts, count_interactions
from monitor.kpis import evaluate as evaluate_kpis
from monitor.kpis.labelled import evaluate_by
from monitor.service.probes import availability_kpis
from monitor.service import service_kpis
from monitor.spec import ModelSpec, Task
from monitor.store import interactions as store_interactions, logs, models as store_models, operations


def evaluate_window(session: Session, run: CheckRun, spec: ModelSpec) -> EvaluateResult:
    """Every KPI of the run's frozen window, against the version's reference baseline."""
    window = logs.load_window(session, run.model_id, run.window_start, run.window_end, run.version, run.watermark,
                              columns=[*logs.SMALL_COLUMNS, *spec.columns.segments])  # no feature needed here
    reference = store_models.run_reference(session, run)
    result = compute_window(window, spec, reference.profile if reference else {},
                            dict(reference.baseline_kpis) if reference else {},
                            (run.window_end - run.window_start).total_seconds())
    result.service.update(operational_kpis(session, run, spec))
    return replace(result, interactions=interaction_counts(session, run, spec))


def compute_window(window: pd.DataFrame, spec: ModelSpec, profile: dict[str, Any], baseline: dict[str, Any],
                   window_seconds: float) -> EvaluateResult:
    """What the evaluate stage computes from the window alone (no store reads): realised KPIs of
    the labelled rows, per segment, the CBPE estimate and the service KPIs of the logs. The
    labelled rows are taken as a view when every row is labelled (no copy of a large window)."""
    labelled = labelled_rows(window)
    has_scores = (spec.task is Task.binary_classification and len(labelled) > 0
                  and bool(labelled["score"].notna().any()))
    return EvaluateResult(
        evaluation=window_kpis(labelled, spec, has_scores), rows=len(window), baseline=baseline,
        segments=segment_kpis(labelled, spec, has_scores, profile.get("segments") or {}),
        estimated=estimate_window(window, spec, profile.get("calibration")),
        service=service_kpis(window, window_seconds), interactions=None)


def labelled_rows(window: pd.DataFrame) -> pd.DataFrame:
    """The rows with a label; the window itself when all are (the common case of a big check)."""
    if not len(window):
        return window
    has_label = window["label"].notna()
    return window if bool(has_label.all()) else window[has_label]


def all_kpis(result: EvaluateResult) -> dict[str, float | None]:
    """The whole window's KPIs as stored in the KPI table: realised, service and interaction."""
    counts = {} if result.interactions is None else InteractionCounts.from_json(result.interactions).kpis()
    return {**result.kpis, **result.service, **counts}


def window_kpis(labelled: pd.DataFrame, spec: ModelSpec, has_scores: bool):
    """KPIs of labelled rows in the window layout (``label``, ``prediction``, ``score`` columns);
    ``monitor.notebook`` calls it on a DataFrame as the evaluate stage does on a stored window."""
    return evaluate_kpis(labelled["label"] if len(labelled) else [],
                         labelled["prediction"] if len(labelled) else [], spec.task,
                         scores=labelled["score"].to_numpy() if has_scores else None,
                         positive_label=spec.positive_label)


def segment_kpis(labelled: pd.DataFrame, spec: ModelSpec, has_scores: bool, baselines: dict[str, Any]
              ) -> dict[str, SegmentKpis]:
    """Each segment value's KPIs against the segment's own baseline from the reference (keys
    spelt as ``monitor.reference.segments_of`` spells them; labels encoded once per column)."""
    segments = {}
    for column in spec.columns.segments:
        if column not in labelled or not len(labelled):
            continue
        parts = evaluate_by(labelled[column], labelled["label"], labelled["prediction"], spec.task,
                            scores=labelled["score"].to_numpy() if has_scores else None,
                            positive_label=spec.positive_label)
        for value, part in parts.items():
            segment = f"{column}={value}"
            baseline = (baselines.get(segment) or {}).get("kpis") or {}
            segments[segment] = SegmentKpis(kpis=part.kpis, labelled_rows=part.labelled_rows, baseline=baseline)
    return segments


def operational_kpis(session: Session, run: CheckRun, spec: ModelSpec) -> dict[str, float | None]:
    """What the logs cannot say: availability (for a probed model; None when no probe ran) and
    the serving host's resources (when ``modelwatch agent`` sent samples, or a host rule is set).
    Both are per model, not per version."""
    kpis: dict[str, float | None] = {}
    if spec.service is not None:
        kpis.update(availability_kpis(operations.probes_between(session, run.model_id, run.window_start,
                                                                run.window_end)))
    samples = operations.host_samples_between(session, run.model_id, run.window_start, run.window_end)
    if len(samples) or spec.rules.max_cpu_pct is not None or spec.rules.max_memory_pct is not None:
        kpis.update(host_kpis(samples))
    return kpis


def interactions_watched(session: Session, run: CheckRun, spec: ModelSpec) -> bool:
    """``interactions.enabled``, or by default: once the model has logged any interaction."""
    enabled = spec.interactions.enabled
    return store_interactions.has_interactions(session, run.model_id) if enabled is None else enabled


def interaction_counts(session: Session, run: CheckRun, spec: ModelSpec) -> dict[str, Any] | None:
    """The window's interaction counts (JSON), or None when the model's interactions are not watched.

    Predictions served in the last ``attribution_delay`` of the window are left out: their users
    had no time to click yet.
    """
    if not run.watermark or not interactions_watched(session, run, spec):
        return None
    delay = spec.interactions.attribution_delay
    served_before = run.window_end - dt.timedelta(seconds=delay) if delay else None
    impressions, events = store_interactions.window_events(session, run, served_before)
    return count_interactions(impressions, events, spec.interactions).to_json()
