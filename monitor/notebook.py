"""The notebook API: KPIs, drift, findings and the HTML report from two DataFrames, with no
server, no database and no broker (as Evidently's ``Report.run(reference, current)``).

>>> import monitor
>>> result = monitor.report(reference_df, current_df, spec={"task": "binary_classification"})  # doctest: +SKIP
>>> result                 # in Jupyter: the same HTML report a check run produces   # doctest: +SKIP
>>> result.findings        # one row per rule verdict, a DataFrame                    # doctest: +SKIP
>>> result.save_html("report.html"); result.save_json("report.json")              # doctest: +SKIP

It runs the check's own pure functions in the check's order (``reference.build_profile``, the
evaluate stage's ``window_kpis``/``segment_kpis``, ``detect.rule.run_rules`` over a
``WindowContext``, ``check.summary``'s pieces, ``reports.render_html``), so a notebook and a worker
cannot disagree about a number. What needs history or a running service is absent: KPI anomalies
(no earlier checks), service KPIs, interactions, alerts and recovery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.errors import SpecError
from monitor.spec import ModelSpec, Task

#: column names never treated as features when the spec does not list them
_NOT_FEATURES = ("request_id", "ts", "version", "latency_ms", "status")
#: the first of these present in both frames becomes the column, when the spec leaves it unset
_GUESSES = {"label": ("label", "target", "y", "y_true", "actual"),
            "prediction": ("prediction", "pred", "y_pred", "predicted"),
            "score": ("score", "proba", "probability", "y_score")}


@dataclass(frozen=True)
class Report:
    """One comparison of ``current`` against ``reference``: the check summary, and its views."""

    spec: ModelSpec
    summary: dict[str, Any] = field(repr=False)

    @property
    def kpis(self) -> dict[str, dict[str, Any]]:
        """Per KPI: ``value`` (current), ``baseline`` (reference), signed ``change``/``change_pct`` and
        ``verdict`` (better/worse for this KPI, ``monitor.kpis.change``)."""
        return self.summary["kpis"]

    @property
    def drift(self) -> pd.DataFrame:
        """One row per compared column: test, adjusted p-value, effect size, drifted."""
        return pd.DataFrame(self.summary["drift"])

    @property
    def findings(self) -> pd.DataFrame:
        return self.to_dataframe()

    def to_dataframe(self) -> pd.DataFrame:
        """Every rule's verdict, one row each (rule, kind, status, severity, metric, value, ...)."""
        columns = ["rule", "kind", "status", "severity", "metric", "value", "baseline", "threshold", "message",
                   "segment"]
        return pd.DataFrame(self.summary["findings"], columns=columns)

    @property
    def firing(self) -> bool:
        return any(f["status"] == "firing" for f in self.summary["findings"])

    def html(self) -> str:
        from monitor.reports import render_html

        return render_html(self.summary)

    def _repr_html_(self) -> str:
        return self.html()

    def save_html(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.summary, default=str))

    def save_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        return path


def report(reference: pd.DataFrame, current: pd.DataFrame, spec: ModelSpec | dict | str | Path | None = None
           ) -> Report:
    """Compare ``current`` with ``reference`` as a check run would, in this process.

    ``spec`` is a :class:`ModelSpec`, a dict of its fields, or the path of a YAML spec holding one
    model. Left out of a dict: ``name`` is ``notebook``; ``task`` is inferred from the reference's
    labels; the label/prediction/score columns are the first of the usual names present; features
    are the columns both frames share, numeric by dtype and categorical otherwise.
    """
    for name, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    spec = resolve_spec(spec, reference, current)
    return Report(spec=spec, summary=_summary(reference, current, spec))


def resolve_spec(spec: ModelSpec | dict | str | Path | None, reference: pd.DataFrame,
                 current: pd.DataFrame) -> ModelSpec:
    if isinstance(spec, ModelSpec):
        return spec
    if isinstance(spec, (str, Path)):
        from monitor.spec.loading import load_spec_file

        specs = load_spec_file(spec)
        if len(specs) != 1:
            raise SpecError([f"expected one model in the spec file, found {len(specs)}: "
                             f"{[s.name for s in specs]}; pass that model's ModelSpec instead"], str(spec))
        return specs[0]
    if spec is not None and not isinstance(spec, dict):
        raise TypeError(f"spec must be a ModelSpec, a dict or a YAML path, got {type(spec).__name__}")
    document = dict(spec or {})
    document.setdefault("name", "notebook")
    columns = dict(document.get("columns") or {})
    shared = [c for c in reference.columns if c in current.columns]
    for key, names in _GUESSES.items():
        if key not in columns:
            found = next((n for n in names if n in reference.columns), None)
            if found is None and key != "score":
                raise SpecError([f"columns.{key}: no column named {' / '.join(names)} in the reference "
                                 f"(it has {list(reference.columns)}); name it in spec['columns']"])
            columns[key] = found
    if "numeric" not in columns and "categorical" not in columns:
        outputs = {columns["label"], columns["prediction"], columns.get("score"), *_NOT_FEATURES}
        features = [c for c in shared if c not in outputs]
        columns["numeric"] = [c for c in features if pd.api.types.is_numeric_dtype(reference[c])
                              and not pd.api.types.is_bool_dtype(reference[c])]
        columns["categorical"] = [c for c in features if c not in columns["numeric"]]
    document["columns"] = columns
    document.setdefault("task", _infer_task(reference[columns["label"]]).value)
    from monitor.spec.loading import parse_spec

    return parse_spec(document, "notebook spec")[0]


def _infer_task(labels: pd.Series) -> Task:
    values = labels.dropna()
    if pd.api.types.is_float_dtype(values) and not (values == values.round()).all():
        return Task.regression
    return Task.binary_classification if values.nunique() <= 2 else Task.multiclass_classification


def _window(current: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """``current`` in the stored window's layout: the spec's output columns under their log names."""
    columns = spec.columns
    missing = [c for c in (columns.prediction, *columns.features) if c not in current]
    if missing:
        raise SpecError([f"current data lacks column(s) {missing} named in the spec; it has {list(current.columns)}"])
    renames = {columns.label: "label", columns.prediction: "prediction"}
    if columns.score:
        renames[columns.score] = "score"
    window = current.drop(columns=[c for c in ("label", "prediction", "score") if c in current and c not in renames])
    window = window.rename(columns=renames)
    for name in ("label", "score"):
        if name not in window:
            window[name] = None
    return window.reset_index(drop=True)


def _summary(reference: pd.DataFrame, current: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    from monitor.check.evaluate import segment_kpis, window_kpis
    from monitor.check.results import DetectResult
    from monitor.check.summary import detection_parts, distributions, finding_json, kpi_entry
    from monitor.detect.frames import window_frame
    from monitor.detect.rule import WindowContext, run_rules
    from monitor.detect.rules.estimated import estimate_window
    from monitor.reference import build_drift_reference, build_profile

    profile, baseline = build_profile(reference, spec)
    window = _window(current, spec)
    labelled = window[window["label"].notna()]
    has_scores = spec.task is Task.binary_classification and bool(labelled["score"].notna().any())
    evaluation = window_kpis(labelled, spec, has_scores)
    segments = segment_kpis(labelled, spec, has_scores, profile.get("segments") or {})
    estimated = estimate_window(window, spec, profile.get("calibration"))
    context = WindowContext(
        spec=spec, window=window, frame=window_frame(window, spec), kpis=evaluation.kpis,
        labelled_rows=evaluation.labelled_rows, baseline=baseline.kpis, segments=segments, estimated=estimated,
        drift_reference=build_drift_reference(reference, spec),
        reference_sample=pd.DataFrame.from_records(profile.get("sample") or []),
        quality_stats=profile.get("quality"))
    detection = run_rules(context)
    detected = DetectResult(json.loads(json.dumps(detection.summaries, default=str)))
    names = dict.fromkeys([*evaluation.kpis, *baseline.kpis])
    return {
        "run_id": "notebook", "model": spec.name, "version": None, "task": spec.task.value, "trigger": "notebook",
        "status": "succeeded", "error": None, "window": {"start": None, "end": None},
        "generated_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "counts": {"rows": len(window), "labelled_rows": evaluation.labelled_rows},
        "kpis": {n: kpi_entry(n, evaluation.kpis.get(n), baseline.kpis.get(n)) for n in names},
        "confusion_matrix": evaluation.confusion_matrix, "per_class": evaluation.per_class,
        "notes": evaluation.notes,
        "findings": [finding_json(f) for f in detection.findings if f.kind != "kpi_anomaly"],
        "segments": {name: part.to_json() for name, part in segments.items()}, "estimated": estimated,
        **detection_parts(detected), "distributions": distributions(detected, profile.get("quality") or {}),
    }
