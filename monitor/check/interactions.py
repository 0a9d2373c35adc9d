"""The check chain's interaction step: the evaluate stage counts what the window's impressions
did, the detect stage tests the rates against a reference. Kept apart from ``stages.py`` so the
stages stay a list of steps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from monitor.db.schema import CheckRun
from monitor.detect.findings import RuleEvaluation
from monitor.detect.interactions import interaction_evaluations
from monitor.interactions import InteractionCounts, count_interactions
from monitor.spec import ModelSpec
from monitor.store import interactions as store


def watched(session: Session, run: CheckRun, spec: ModelSpec) -> bool:
    """``interactions.enabled``, or by default: once the model has logged any interaction."""
    enabled = spec.interactions.enabled
    return store.has_interactions(session, run.model_id) if enabled is None else enabled


def evaluate_interactions(session: Session, run: CheckRun, spec: ModelSpec) -> dict[str, Any] | None:
    """The window's interaction counts (JSON), or None when the model's interactions are not watched.

    The evaluate stage runs once per run and stores this, so the detect stage, a retry or the
    report all see the same numbers even when more events arrive later. Predictions served in the
    last ``attribution_delay`` of the window are left out: their users had no time to click yet.
    """
    if not run.watermark or not watched(session, run, spec):
        return None
    delay = spec.interactions.attribution_delay
    served_before = run.window_end - dt.timedelta(seconds=delay) if delay else None
    impressions, events = store.window_events(session, run.model_id, run.watermark["key"], served_before)
    return count_interactions(impressions, events, spec.interactions).to_json()


def interaction_kpis(counts: dict[str, Any] | None) -> dict[str, float | None]:
    """The KPI values of :func:`evaluate_interactions`' counts (empty when not watched)."""
    return {} if counts is None else InteractionCounts.from_json(counts).kpis()


def detect_interactions(session: Session, run: CheckRun, spec: ModelSpec, counts: dict[str, Any] | None
                        ) -> list[RuleEvaluation]:
    if counts is None:
        return []
    config = spec.interactions
    needs_history = any(getattr(config.reference, metric) is None
                        for metric in ("click_through_rate", "conversion_rate"))
    reference = store.pooled_reference(session, run, config.reference_windows) if needs_history else None
    return interaction_evaluations(counts, reference, config)
