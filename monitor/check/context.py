"""Loading one window's :class:`~monitor.detect.rule.WindowContext`: every read the rules need,
done once, before any rule runs.

The detect stage calls :func:`load_context` and hands the result to every registered rule, so no
rule touches the store and loading is not interleaved with computing. What the evaluate stage
already computed (KPIs, segments, the estimate, service KPIs, interaction counts) comes from its
stored result, so a retried detect sees the same numbers even if more rows arrived.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from monitor.check.results import EvaluateResult
from monitor.db.schema import CheckRun
from monitor.detect.frames import window_frame
from monitor.detect.rule import WindowContext
from monitor.kpis.interactions import RATE_KPIS
from monitor.service import SERVICE_KPIS
from monitor.spec import ModelSpec
from monitor.stream.confirm import open_alarms
from monitor.store import interactions as store_interactions, logs, models as store_models, runs as store_runs

#: how many earlier checks the KPI-anomaly rule sees
HISTORY_LIMIT = 60


def load_context(session: Session, run: CheckRun, spec: ModelSpec, evaluated: EvaluateResult) -> WindowContext:
    """The window, its reference, the KPI history and the interaction reference, read once."""
    reference = store_models.run_reference(session, run)
    profile = reference.profile if reference else {}
    # read column by column (a feature when a rule asks for it), never the whole window at once
    window = logs.window_view(session, run.model_id, run.window_start, run.window_end, run.version, run.watermark)
    history_names = [*evaluated.kpis, *SERVICE_KPIS, *RATE_KPIS]
    check_number, quarantined = store_runs.check_number_and_quarantined(session, run)
    return WindowContext(
        spec=spec, window=window, frame=window_frame(window, spec),
        kpis=evaluated.kpis, labelled_rows=evaluated.labelled_rows, baseline=evaluated.baseline,
        segments=evaluated.segments, estimated=evaluated.estimated, service=evaluated.service,
        interactions=evaluated.interactions,
        interaction_reference=_interaction_reference(session, run, spec, evaluated.interactions),
        drift_reference=reference.drift_reference if reference else None,
        reference_sample=reference.sample.copy(deep=False) if reference else pd.DataFrame.from_records([]),
        quality_stats=profile.get("quality"),
        quarantined=quarantined,
        kpi_history=store_runs.kpi_history(session, run.model_id, history_names, limit=HISTORY_LIMIT),
        streaming=open_alarms(session, run), check_number=check_number)


def _interaction_reference(session: Session, run: CheckRun, spec: ModelSpec, counts: dict | None):
    """Earlier windows' pooled counts, read only when interactions are watched and some rate has
    no fixed reference in the spec."""
    if counts is None:
        return None
    config = spec.interactions
    if all(getattr(config.reference, metric) is not None for metric in ("click_through_rate", "conversion_rate")):
        return None
    return store_interactions.pooled_reference(session, run, config.reference_windows)
